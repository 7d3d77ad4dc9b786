/**
 * Running queued builds: picked fairly between namespaces under a global and a per-namespace limit
 * (counted across replicas), each held under a lease that its process renews; the source fetched
 * at the exact commit, built and pushed through the Docker engine with a credential good for that
 * one repository, the log streamed to followers and stored, cancels and timeouts honoured. A build
 * whose process died (lease expired) is marked interrupted and queued again once.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { CoalescedRunner } from '../kit/index.js';
import type { BuildConfigRecord, BuildRecord, Meta } from '../meta/index.js';
import type { Logger } from '../obs/index.js';
import { buildImage, openEngine, pushImage, type EngineAddress } from './engine.js';
import { checkout, remoteRefs, type GitSource } from './git-source.js';
import { LiveLog, type LogListener } from './live-log.js';
import { queueBuilds, recordBuildEvent } from './queueing.js';
import { baseImagesOf } from './base-images.js';
import type { PlannedBuild } from './rules.js';

/** How builds run. */
export interface RunnerSettings {
  engine: EngineAddress;
  /** `host:port` of Berth as the engine reaches it (known once the server listens). */
  registry: () => string | undefined;
  /** Other names of this registry in `FROM` lines (the configured domain). */
  aliases: string[];
  /** Builds running at once across every replica, and per namespace. */
  concurrency: number;
  perNamespace: number;
  timeoutMs: number;
  leaseMs: number;
  workDir: string;
  holder: string;
  /** Failed builds in a row after which a configuration's triggers switch off. */
  maxFailures: number;
  pollMs: number;
}

/** What the runner needs of the auth room: a push credential for one repository. */
export interface PushCredentials {
  mint(
    owner: string,
    repository: string,
    ttlMs: number,
    name: string,
  ): Promise<{ id: number; token: string }>;
  revoke(id: number): Promise<void>;
}

type Plan = PlannedBuild & { source: string };

interface Running {
  build: BuildRecord;
  log: LiveLog;
  abort: AbortController;
}

/** Runs builds from the queue. */
export class BuildRunner {
  private readonly runner: CoalescedRunner;
  private readonly running = new Map<number, Running>();
  private readonly work = new Set<Promise<void>>();
  private engine: Promise<Docker> | undefined;
  private lastPoll = 0;

  constructor(
    private readonly meta: Meta,
    private readonly credentials: PushCredentials,
    private readonly gitSource: (config: BuildConfigRecord) => GitSource,
    private readonly settings: RunnerSettings,
    private readonly logger: Logger,
    private readonly committed: () => void = () => undefined,
  ) {
    this.runner = new CoalescedRunner(
      () => this.tick(),
      (err) => logger.error({ err }, 'build queue'),
    );
  }

  /** Looks at the queue every `pollMs` and whenever told. */
  start(): void {
    this.runner.every(this.settings.pollMs);
  }

  /** Looks at the queue soon. */
  notify(): void {
    this.runner.ask();
  }

  /** Stops taking builds; builds running here are interrupted (and queued again once). */
  async stop(): Promise<void> {
    await this.runner.stop();
    for (const r of this.running.values()) r.abort.abort('shutdown');
    await Promise.all(this.work);
  }

  /** The log of build `id` so far, while it runs here. */
  liveLog(id: number): string | undefined {
    return this.running.get(id)?.log.text();
  }

  /** Follows the log of build `id` while it runs here; undefined when it does not. */
  follow(id: number, listener: LogListener): (() => void) | undefined {
    return this.running.get(id)?.log.follow(listener);
  }

  /** Stops build `id` at once when it runs here (elsewhere its process sees the request). */
  cancelHere(id: number): void {
    this.running.get(id)?.abort.abort('cancelled');
  }

  private async tick(): Promise<void> {
    await this.recoverExpired();
    if (Date.now() - this.lastPoll >= Math.min(5_000, this.settings.pollMs * 5)) {
      this.lastPoll = Date.now();
      await this.pollSources();
    }
    for (;;) {
      const build = await this.claimNext();
      if (!build) return;
      const work = this.run(build).finally(() => {
        this.work.delete(work);
        this.notify();
      });
      this.work.add(work);
    }
  }

  /** Takes the next build fairly: the namespace with the fewest running builds goes first. */
  private async claimNext(): Promise<BuildRecord | undefined> {
    const { concurrency, perNamespace, leaseMs, holder } = this.settings;
    // A read first: an empty queue never takes the write lock.
    if ((await this.meta.builds.queued()).length === 0) return undefined;
    return this.meta.writeTransaction(async (tx) => {
      const running = await tx.builds.running();
      if (running.length >= concurrency) return undefined;
      const per = new Map<string, number>();
      for (const b of running) per.set(b.namespace, (per.get(b.namespace) ?? 0) + 1);
      const load = (b: BuildRecord) => per.get(b.namespace) ?? 0;
      const next = (await tx.builds.queued())
        .filter((b) => load(b) < perNamespace)
        .sort((a, b) => load(a) - load(b) || a.queuedAt - b.queuedAt || a.id - b.id)[0];
      if (!next) return undefined;
      const now = Date.now();
      const claimed = {
        ...next,
        state: 'running' as const,
        holder,
        leaseUntil: now + leaseMs,
        startedAt: now,
        attempts: next.attempts + 1,
      };
      await tx.builds.update(next.id, claimed);
      await recordBuildEvent(tx, 'build.started', next);
      return claimed;
    });
  }

  /** Builds whose process stopped renewing: interrupted, and queued again once. */
  private async recoverExpired(): Promise<void> {
    const now = Date.now();
    const stale = (await this.meta.builds.running()).filter(
      (b) => (b.leaseUntil ?? 0) < now && !this.running.has(b.id),
    );
    for (const b of stale)
      await this.meta.writeTransaction(async (tx) => {
        const current = await tx.builds.build(b.id);
        if (current?.state !== 'running' || (current.leaseUntil ?? 0) >= Date.now()) return;
        await this.interrupt(tx, current, 'its Berth process stopped');
      });
    if (stale.length > 0) this.committed();
  }

  /** Marks `build` interrupted and queues it again, unless it was itself a second try. */
  private async interrupt(tx: Meta, build: BuildRecord, why: string): Promise<void> {
    const error = `interrupted: ${why}`;
    await tx.builds.update(build.id, {
      state: 'interrupted',
      finishedAt: Date.now(),
      error,
      holder: null,
      leaseUntil: null,
    });
    await recordBuildEvent(tx, 'build.cancelled', { ...build, error });
    if (build.trigger === 'requeue') return;
    const [id] = await tx.builds.enqueue([
      {
        configId: build.configId,
        repository: build.repository,
        namespace: build.namespace,
        ref: build.ref,
        commit: build.commit,
        plan: build.plan,
        trigger: 'requeue',
        queuedAt: Date.now(),
      },
    ]);
    await recordBuildEvent(tx, 'build.queued', { ...build, id: id! });
  }

  /** Builds what changed on sources that poll (the first look only notes where refs are). */
  private async pollSources(): Promise<void> {
    for (const config of await this.meta.builds.duePolls(Date.now())) {
      let refs: Map<string, string>;
      try {
        refs = await remoteRefs(this.gitSource(config));
      } catch (err) {
        this.logger.warn({ err, repository: config.repository }, 'polling a build source');
        await this.meta.writeTransaction((tx) =>
          tx.builds.updateConfig(config.id, { polledAt: Date.now() }),
        );
        continue;
      }
      const queued = await this.meta.writeTransaction(async (tx) => {
        const current = await tx.builds.config(config.id);
        // Another replica polled meanwhile.
        if (!current || current.polledAt !== config.polledAt) return [];
        const moved =
          current.polledAt === 0
            ? []
            : [...refs]
                .filter(([ref, sha]) => current.polled[ref] !== sha)
                .map(([ref, commit]) => ({ ref, commit, message: '' }));
        await tx.builds.updateConfig(config.id, {
          polled: Object.fromEntries(refs),
          polledAt: Date.now(),
        });
        return queueBuilds(tx, current, moved, { kind: 'poll' });
      });
      if (queued.length > 0) this.committed();
    }
  }

  private async run(build: BuildRecord): Promise<void> {
    const log = new LiveLog();
    const abort = new AbortController();
    this.running.set(build.id, { build, log, abort });
    const { timeoutMs, leaseMs } = this.settings;
    const timeout = setTimeout(() => abort.abort('timeout'), timeoutMs);
    const renew = setInterval(
      () => void this.renew(build.id, log, abort),
      Math.max(200, leaseMs / 3),
    );
    let outcome: { state: 'succeeded' | 'failed' | 'cancelled'; digest?: string; error?: string };
    const bases: string[] = [];
    const dir = path.join(this.settings.workDir, `build-${build.id}`);
    try {
      const digest = await this.execute(build, log, abort.signal, dir, bases);
      outcome = { state: 'succeeded', digest };
      log.add(`pushed ${digest}`);
    } catch (err) {
      const reason = abort.signal.reason as string | undefined;
      const message = (err as Error).message;
      if (reason === 'timeout')
        outcome = { state: 'failed', error: `timed out after ${Math.round(timeoutMs / 1000)} s` };
      else if (reason === 'cancelled') outcome = { state: 'cancelled', error: 'cancelled' };
      else if (reason === 'shutdown') outcome = { state: 'cancelled', error: 'shutdown' };
      else outcome = { state: 'failed', error: message.split('\n')[0]!.slice(0, 500) };
      log.add(`${outcome.state}: ${outcome.error}`);
    } finally {
      clearTimeout(timeout);
      clearInterval(renew);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    await this.finish(build, log, outcome, bases).catch((err: unknown) =>
      this.logger.error({ err, build: build.id }, 'recording a build'),
    );
    log.end();
    this.running.delete(build.id);
  }

  private async execute(
    build: BuildRecord,
    log: LiveLog,
    signal: AbortSignal,
    dir: string,
    bases: string[],
  ) {
    const plan = build.plan as Plan;
    const config = await this.meta.builds.config(build.configId);
    if (!config) throw new Error('the build configuration is gone');
    log.add(`fetching ${plan.source} ${build.ref} at ${build.commit}`);
    await checkout(this.gitSource(config), build.ref, build.commit, dir, signal);
    const contextDir = path.resolve(dir, plan.context);
    if (!contextDir.startsWith(dir))
      throw new Error(`the context ${plan.context} leaves the source`);
    const registry = this.settings.registry();
    if (!registry) throw new Error('Berth does not know the address the engine pushes to');
    const dockerfileText = await readFile(path.resolve(contextDir, plan.dockerfile), 'utf8').catch(
      () => {
        throw new Error(`there is no ${plan.dockerfile} in ${plan.context}`);
      },
    );
    bases.push(...baseImagesOf(dockerfileText, [registry, ...this.settings.aliases]));
    this.engine ??= openEngine(this.settings.engine);
    const engine = await this.engine;
    const name = `berth-build-${build.id}`;
    log.add(`building ${plan.dockerfile} in ${plan.context} as ${plan.tags.join(', ')}`);
    await buildImage(
      engine,
      {
        contextDir,
        dockerfile: plan.dockerfile,
        buildArgs: plan.buildArgs,
        cache: plan.cache,
        labels: {
          'org.opencontainers.image.revision': build.commit,
          'org.opencontainers.image.source': plan.source,
          'io.berth.build': String(build.id),
        },
        name,
      },
      (line) => log.add(line),
      signal,
    );
    const credential = await this.credentials.mint(
      config.owner,
      build.repository,
      this.settings.timeoutMs + 60_000,
      `build #${build.id}`,
    );
    try {
      return await pushImage(
        engine,
        name,
        {
          registry,
          repository: build.repository,
          tags: plan.tags,
          username: config.owner,
          password: credential.token,
        },
        (line) => log.add(line),
        signal,
      );
    } finally {
      await this.credentials.revoke(credential.id);
    }
  }

  /** Renews the lease, stores the log so far, and stops the build if a cancel was asked for. */
  private async renew(id: number, log: LiveLog, abort: AbortController): Promise<void> {
    try {
      const cancel = await this.meta.writeTransaction(async (tx) => {
        const current = await tx.builds.build(id);
        await tx.builds.update(id, {
          leaseUntil: Date.now() + this.settings.leaseMs,
          log: log.text(),
        });
        return current?.cancelRequested ?? false;
      });
      if (cancel) abort.abort('cancelled');
    } catch (err) {
      this.logger.warn({ err, build: id }, 'renewing a build lease');
    }
  }

  private async finish(
    build: BuildRecord,
    log: LiveLog,
    outcome: { state: 'succeeded' | 'failed' | 'cancelled'; digest?: string; error?: string },
    bases: string[],
  ): Promise<void> {
    await this.meta.writeTransaction(async (tx) => {
      if (outcome.error === 'shutdown') {
        await tx.builds.update(build.id, { log: log.text() });
        return this.interrupt(tx, build, 'Berth stopped');
      }
      const done = {
        state: outcome.state,
        finishedAt: Date.now(),
        digest: outcome.digest ?? null,
        error: outcome.error ?? null,
        log: log.text(),
        bases,
        holder: null,
        leaseUntil: null,
      };
      await tx.builds.update(build.id, done);
      const type =
        outcome.state === 'succeeded'
          ? 'build.succeeded'
          : outcome.state === 'failed'
            ? 'build.failed'
            : 'build.cancelled';
      await recordBuildEvent(tx, type, { ...build, ...done });
      const config = await tx.builds.config(build.configId);
      if (!config || outcome.state === 'cancelled') return;
      const failures = outcome.state === 'failed' ? config.failures + 1 : 0;
      const disable = failures >= this.settings.maxFailures && config.enabled;
      await tx.builds.updateConfig(config.id, {
        failures,
        ...(disable
          ? { enabled: false, disabledReason: `${failures} builds in a row failed` }
          : {}),
      });
      if (disable)
        await recordBuildEvent(tx, 'build.trigger.disabled', {
          ...build,
          error: `${failures} builds in a row failed`,
        });
    });
    this.committed();
  }
}
