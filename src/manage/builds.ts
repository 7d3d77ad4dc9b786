/**
 * Automated builds for a caller: linking a repository to a git source with rules (its admins),
 * the per-provider webhook URLs and their secret (shown once, sealed at rest), "build now",
 * history with queue positions, logs (live while running), cancel, and the provider webhooks
 * themselves (verified the provider's way, no account).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Actor, AuthService, Principal } from '../auth/index.js';
import {
  PROVIDERS,
  queueBuilds,
  readProviderNotice,
  recordBuildEvent,
  remoteRefs,
  ruleProblem,
  sourceUrlProblem,
  verifyProvider,
  type BuildRule,
  type GitSource,
  type LogListener,
  type Provider,
} from '../builds/index.js';
import type { SecretBox } from '../kit/index.js';
import type { BuildConfigRecord, BuildRecord, Meta } from '../meta/index.js';
import { BerthError, isValidName } from '../oci/index.js';
import type {
  BuildConfigInput,
  BuildConfigView,
  BuildRunnerPort,
  BuildView,
} from './build-views.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const DEFAULT_RULE: BuildRule = {
  sourceType: 'branch',
  source: 'main',
  tag: 'latest',
  dockerfile: 'Dockerfile',
  context: '.',
  buildArgs: {},
  cache: true,
  autobuild: true,
  latestOnDefault: false,
};

/** What is sealed as a source's credentials: HTTP(S) user and token, or an SSH deploy key. */
type SourceSecrets = { username: string; password: string } | { sshKey: string; publicKey: string };

/** A new ed25519 key pair from the real `ssh-keygen`, its private half in OpenSSH form. */
async function newDeployKey(comment: string): Promise<{ sshKey: string; publicKey: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-keygen-'));
  try {
    const file = path.join(dir, 'id');
    await new Promise<void>((resolve, reject) =>
      execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], (err) =>
        err ? reject(new BerthError('INTERNAL', `ssh-keygen failed: ${err.message}`)) : resolve(),
      ),
    );
    return {
      sshKey: await readFile(file, 'utf8'),
      publicKey: (await readFile(`${file}.pub`, 'utf8')).trim(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Build management, checked per caller. */
export class BuildService {
  private runner?: BuildRunnerPort;

  constructor(
    private readonly meta: Meta,
    private readonly auth: AuthService,
    private readonly box: SecretBox,
    /** Where SSH host keys of git servers are kept once seen. */
    private readonly knownHosts?: string,
  ) {}

  private secretsOf(config: BuildConfigRecord): SourceSecrets | null {
    if (!config.credentials) return null;
    const text = this.box.open(config.credentials, `build:${config.repository}:credentials`);
    return JSON.parse(text.toString()) as SourceSecrets;
  }

  /** Connects the runner that starts, cancels and follows builds in this process. */
  attach(runner: BuildRunnerPort): void {
    this.runner = runner;
  }

  /** The git source of `config`, its credentials opened. */
  gitSource(config: BuildConfigRecord): GitSource {
    const secrets = this.secretsOf(config);
    if (secrets && 'sshKey' in secrets)
      return { url: config.sourceUrl, sshKey: secrets.sshKey, knownHosts: this.knownHosts };
    return { url: config.sourceUrl, credentials: secrets };
  }

  private async require(
    principal: Principal,
    repository: string,
    action: 'pull' | 'push' | 'delete',
  ): Promise<void> {
    if (!isValidName(repository))
      throw new BerthError('NAME_INVALID', `invalid repository name ${repository}`);
    const decision = await this.auth.policy.decide(principal, repository);
    if (!decision.allowed.has('pull'))
      throw new BerthError('NOT_FOUND', `no repository ${repository} (or it is private)`);
    if (!decision.allowed.has(action))
      throw new BerthError(
        'DENIED',
        action === 'delete'
          ? `builds of ${repository} are set up by its admins`
          : `building ${repository} needs write access to it`,
      );
  }

  private async configOf(repository: string): Promise<BuildConfigRecord> {
    const config = await this.meta.builds.configOf(repository);
    if (!config) throw new BerthError('NOT_FOUND', `${repository} is not linked to a git source`);
    return config;
  }

  private view(config: BuildConfigRecord): BuildConfigView {
    const hooks = Object.fromEntries(
      PROVIDERS.map((p) => [p, `/api/v1/build-hooks/${config.id}/${p}`]),
    ) as Record<Provider, string>;
    return {
      repository: config.repository,
      source: config.sourceUrl,
      hasCredentials: config.credentials !== null,
      deployKey: ((s) => (s && 'publicKey' in s ? s.publicKey : null))(this.secretsOf(config)),
      defaultBranch: config.defaultBranch,
      rules: config.rules as BuildRule[],
      paths: config.paths,
      pollSeconds: config.pollSeconds,
      polledAt: config.polledAt > 0 ? new Date(config.polledAt).toISOString() : null,
      rebuildOnBase: config.rebuildOnBase,
      owner: config.owner,
      enabled: config.enabled,
      disabledReason: config.disabledReason,
      hooks,
    };
  }

  private check(input: Partial<BuildConfigInput>): void {
    const problem =
      (input.source !== undefined ? sourceUrlProblem(input.source) : undefined) ??
      input.rules?.map(ruleProblem).find(Boolean);
    if (problem) throw new BerthError('INVALID_REQUEST', problem);
    if (input.pollSeconds !== undefined && input.pollSeconds !== 0 && input.pollSeconds < 10)
      throw new BerthError('INVALID_REQUEST', 'pollSeconds is 0 (off) or at least 10');
  }

  /**
   * Links `repository` to a git source (or changes the link); returns the configuration and,
   * when the link is new, the webhook secret (shown this once). Builds push as whoever made the
   * link; later changes keep that owner.
   */
  async link(
    actor: Actor,
    repository: string,
    input: BuildConfigInput,
  ): Promise<{ config: BuildConfigView; hookSecret?: string }> {
    await this.require(actor.principal, repository, 'delete');
    if (actor.principal.kind !== 'user') throw new BerthError('UNAUTHORIZED', 'sign in');
    this.check(input);
    const owner = actor.principal.name;
    const secrets: SourceSecrets | null | undefined = input.deployKey
      ? await newDeployKey(`berth deploy key for ${repository}`)
      : input.credentials;
    const sealedCredentials =
      secrets &&
      this.box.seal(Buffer.from(JSON.stringify(secrets)), `build:${repository}:credentials`);
    const existing = await this.meta.builds.configOf(repository);
    if (existing) {
      await this.meta.writeTransaction((tx) =>
        tx.builds.updateConfig(existing.id, {
          sourceUrl: input.source,
          credentials: secrets === undefined ? undefined : (sealedCredentials ?? null),
          defaultBranch: input.defaultBranch,
          rules: input.rules,
          paths: input.paths,
          pollSeconds: input.pollSeconds,
          rebuildOnBase: input.rebuildOnBase,
          enabled: input.enabled,
          ...(input.enabled ? { failures: 0, disabledReason: null } : {}),
        }),
      );
      return { config: this.view((await this.meta.builds.configOf(repository))!) };
    }
    const hookSecret = randomBytes(24).toString('hex');
    const created = await this.meta.writeTransaction((tx) =>
      tx.builds.createConfig({
        repository,
        sourceUrl: input.source,
        credentials: sealedCredentials ?? null,
        defaultBranch: input.defaultBranch ?? null,
        rules: input.rules ?? [DEFAULT_RULE],
        paths: input.paths ?? [],
        pollSeconds: input.pollSeconds ?? 0,
        rebuildOnBase: input.rebuildOnBase ?? false,
        hookSecret: this.box.seal(Buffer.from(hookSecret), `build:${repository}:hook`),
        owner,
        enabled: input.enabled ?? true,
        createdAt: Date.now(),
      }),
    );
    return { config: this.view(created), hookSecret };
  }

  /** The configuration of `repository` (anyone who may push to it). */
  async config(actor: Actor, repository: string): Promise<BuildConfigView> {
    await this.require(actor.principal, repository, 'push');
    return this.view(await this.configOf(repository));
  }

  /** A new webhook secret for `repository` (shown this once). */
  async rotateHookSecret(actor: Actor, repository: string): Promise<{ hookSecret: string }> {
    await this.require(actor.principal, repository, 'delete');
    const config = await this.configOf(repository);
    const hookSecret = randomBytes(24).toString('hex');
    const sealed = this.box.seal(Buffer.from(hookSecret), `build:${repository}:hook`);
    await this.meta.writeTransaction((tx) =>
      tx.builds.updateConfig(config.id, { hookSecret: sealed }),
    );
    return { hookSecret };
  }

  /** Unlinks `repository`, deleting its build history. */
  async unlink(actor: Actor, repository: string): Promise<void> {
    await this.require(actor.principal, repository, 'delete');
    if (!(await this.meta.writeTransaction((tx) => tx.builds.deleteConfig(repository))))
      throw new BerthError('NOT_FOUND', `${repository} is not linked to a git source`);
  }

  /** "Build now": a branch, tag or full ref, at `commit` or where the source has it now. */
  async trigger(
    actor: Actor,
    repository: string,
    what: { ref: string; commit?: string },
  ): Promise<BuildView[]> {
    await this.require(actor.principal, repository, 'push');
    const config = await this.configOf(repository);
    const source = this.gitSource(config);
    let ref = what.ref;
    let commit = what.commit;
    if (!ref.startsWith('refs/') || !commit) {
      const refs = await remoteRefs(source).catch((err: Error) => {
        throw new BerthError('INVALID_REQUEST', `the source cannot be read: ${err.message}`);
      });
      if (!ref.startsWith('refs/'))
        ref = refs.has(`refs/heads/${ref}`) ? `refs/heads/${ref}` : `refs/tags/${ref}`;
      commit ??= refs.get(ref);
      if (!commit) throw new BerthError('NOT_FOUND', `the source has no ${what.ref}`);
    }
    const ids = await this.meta.writeTransaction((tx) =>
      queueBuilds(tx, config, [{ ref, commit: commit!, message: '' }], {
        kind: 'manual',
        actor: actor.principal.kind === 'user' ? actor.principal.name : null,
      }),
    );
    if (ids.length === 0)
      throw new BerthError('INVALID_REQUEST', `no build rule of ${repository} matches ${ref}`);
    this.runner?.notify();
    return Promise.all(ids.map(async (id) => this.buildView((await this.meta.builds.build(id))!)));
  }

  private async buildView(b: BuildRecord, queue?: BuildRecord[]): Promise<BuildView> {
    let position: number | null = null;
    if (b.state === 'queued') {
      const all = queue ?? (await this.meta.builds.queued());
      position = all.findIndex((q) => q.id === b.id) + 1 || null;
    }
    return {
      id: b.id,
      repository: b.repository,
      ref: b.ref,
      commit: b.commit,
      tags: (b.plan as { tags?: string[] }).tags ?? [],
      trigger: b.trigger,
      state: b.state,
      queuedAt: iso(b.queuedAt)!,
      startedAt: iso(b.startedAt),
      finishedAt: iso(b.finishedAt),
      durationSeconds:
        b.startedAt !== null && b.finishedAt !== null
          ? Math.round((b.finishedAt - b.startedAt) / 1000)
          : null,
      digest: b.digest,
      error: b.error,
      queuePosition: position,
    };
  }

  /** The builds of `repository`, newest first. */
  async history(
    principal: Principal,
    repository: string,
    options: { before?: number; limit?: number } = {},
  ): Promise<BuildView[]> {
    await this.require(principal, repository, 'pull');
    const rows = await this.meta.builds.history(repository, {
      before: options.before,
      limit: Math.min(Math.max(options.limit ?? 50, 1), 500),
    });
    const queue = await this.meta.builds.queued();
    return Promise.all(rows.map((b) => this.buildView(b, queue)));
  }

  private async readable(principal: Principal, id: number): Promise<BuildRecord> {
    const build = await this.meta.builds.build(id);
    if (!build) throw new BerthError('NOT_FOUND', `no build ${id}`);
    await this.require(principal, build.repository, 'pull');
    return build;
  }

  /** One build with its log (the live log while it runs in this process). */
  async build(principal: Principal, id: number): Promise<BuildView & { log: string }> {
    const build = await this.readable(principal, id);
    return { ...(await this.buildView(build)), log: this.runner?.liveLog(id) ?? build.log };
  }

  /**
   * Follows the log of build `id`: `listener` gets the log so far, then each new line, then null
   * when it ends. Returns a function that stops following.
   */
  async follow(principal: Principal, id: number, listener: LogListener): Promise<() => void> {
    const build = await this.readable(principal, id);
    const live = this.runner?.liveLog(id);
    if (live !== undefined) {
      listener(live);
      const stop = this.runner?.follow(id, listener);
      if (stop) return stop;
    } else listener(build.log);
    listener(null);
    return () => undefined;
  }

  /** Cancels a queued or running build (anyone who may push). */
  async cancel(actor: Actor, id: number): Promise<BuildView> {
    const build = await this.readable(actor.principal, id);
    await this.require(actor.principal, build.repository, 'push');
    if (build.state !== 'queued' && build.state !== 'running')
      throw new BerthError('CONFLICT', `build ${id} is ${build.state}`);
    await this.meta.writeTransaction(async (tx) => {
      const current = await tx.builds.build(id);
      if (current?.state === 'queued') {
        await tx.builds.update(id, {
          state: 'cancelled',
          finishedAt: Date.now(),
          error: 'cancelled',
        });
        await recordBuildEvent(tx, 'build.cancelled', { ...current, error: 'cancelled' });
      } else if (current?.state === 'running')
        await tx.builds.update(id, { cancelRequested: true });
    });
    this.runner?.cancelHere(id);
    return this.buildView((await this.meta.builds.build(id))!);
  }

  /**
   * A push notification from a git server for configuration `configId`: verified with the
   * configuration's secret the `provider`'s way, then planned and queued.
   */
  async hook(
    configId: number,
    provider: string,
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
  ): Promise<{ queued: number[]; note?: string }> {
    const config = await this.meta.builds.config(configId);
    if (!config || !PROVIDERS.includes(provider as Provider))
      throw new BerthError('NOT_FOUND', 'no such build trigger');
    const secret = this.box.open(config.hookSecret, `build:${config.repository}:hook`).toString();
    if (!verifyProvider(provider as Provider, secret, headers, body))
      throw new BerthError('DENIED', `the ${provider} signature does not match`);
    if (!config.enabled)
      return { queued: [], note: `triggers are off: ${config.disabledReason ?? 'disabled'}` };
    const notice = readProviderNotice(provider as Provider, headers, body);
    if (notice.kind === 'ping') return { queued: [], note: 'pong' };
    if (notice.kind === 'ignored') return { queued: [], note: notice.reason };
    const queued = await this.meta.writeTransaction((tx) =>
      queueBuilds(tx, config, notice.refs, {
        kind: 'webhook',
        defaultBranch: notice.defaultBranch,
      }),
    );
    this.runner?.notify();
    return { queued };
  }
}
