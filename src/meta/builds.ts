/** Build configurations (one per repository) and the builds queued and run from them. */
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { BuildConfigsTable, BuildsTable, Database } from './schema.js';

/** A repository's build configuration; `credentials` and `hookSecret` are sealed text. */
export interface BuildConfigRecord {
  id: number;
  repository: string;
  sourceUrl: string;
  credentials: string | null;
  defaultBranch: string | null;
  rules: unknown[];
  paths: string[];
  pollSeconds: number;
  /** Build again when a base image (`FROM`) in this registry gets a new digest. */
  rebuildOnBase: boolean;
  hookSecret: string;
  /** The account builds push as (their rights, capped to this repository). */
  owner: string;
  enabled: boolean;
  /** Failed builds in a row; triggers switch off after too many. */
  failures: number;
  disabledReason: string | null;
  /** The commit last seen on each ref by polling. */
  polled: Record<string, string>;
  polledAt: number;
  createdAt: number;
}

/** What may change in a configuration. */
export type BuildConfigPatch = Partial<Omit<BuildConfigRecord, 'id' | 'repository' | 'createdAt'>>;

/** The states of a build. */
export type BuildState =
  'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

/** One build. */
export interface BuildRecord {
  id: number;
  configId: number;
  repository: string;
  namespace: string;
  ref: string;
  commit: string;
  /** What to build: tags, Dockerfile, context, arguments, cache. */
  plan: unknown;
  trigger: string;
  state: BuildState;
  attempts: number;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  digest: string | null;
  /** The base images (`repository:tag` in this registry) the build started `FROM`. */
  bases: string[];
  error: string | null;
  log: string;
  holder: string | null;
  leaseUntil: number | null;
  cancelRequested: boolean;
}

/** A build to queue. */
export type NewBuild = Pick<
  BuildRecord,
  'configId' | 'repository' | 'namespace' | 'ref' | 'commit' | 'plan' | 'trigger' | 'queuedAt'
>;

function configOf(r: Selectable<BuildConfigsTable>): BuildConfigRecord {
  return {
    id: Number(r.id),
    repository: r.repository,
    sourceUrl: r.source_url,
    credentials: r.credentials,
    defaultBranch: r.default_branch,
    rules: JSON.parse(r.rules) as unknown[],
    paths: JSON.parse(r.paths) as string[],
    pollSeconds: Number(r.poll_seconds),
    rebuildOnBase: Boolean(r.rebuild_on_base),
    hookSecret: r.hook_secret,
    owner: r.owner,
    enabled: Boolean(r.enabled),
    failures: Number(r.failures),
    disabledReason: r.disabled_reason,
    polled: JSON.parse(r.polled) as Record<string, string>,
    polledAt: Number(r.polled_at),
    createdAt: Number(r.created_at),
  };
}

function buildOf(r: Selectable<BuildsTable>): BuildRecord {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: Number(r.id),
    configId: Number(r.config_id),
    repository: r.repository,
    namespace: r.namespace,
    ref: r.ref,
    commit: r.commit_sha,
    plan: JSON.parse(r.plan) as unknown,
    trigger: r.trigger,
    state: r.state as BuildState,
    attempts: Number(r.attempts),
    queuedAt: Number(r.queued_at),
    startedAt: n(r.started_at),
    finishedAt: n(r.finished_at),
    digest: r.digest,
    bases: r.bases ? (JSON.parse(r.bases) as string[]) : [],
    error: r.error,
    log: r.log,
    holder: r.holder,
    leaseUntil: n(r.lease_until),
    cancelRequested: Boolean(r.cancel_requested),
  };
}

/** Reads and writes build configurations and builds. */
export class BuildStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Stores a configuration and returns it. */
  async createConfig(
    c: Omit<BuildConfigRecord, 'id' | 'failures' | 'disabledReason' | 'polled' | 'polledAt'>,
  ): Promise<BuildConfigRecord> {
    const row = await this.db
      .insertInto('build_configs')
      .values({
        repository: c.repository,
        source_url: c.sourceUrl,
        credentials: c.credentials,
        default_branch: c.defaultBranch,
        rules: JSON.stringify(c.rules),
        paths: JSON.stringify(c.paths),
        poll_seconds: c.pollSeconds,
        rebuild_on_base: c.rebuildOnBase ? 1 : 0,
        hook_secret: c.hookSecret,
        owner: c.owner,
        enabled: c.enabled ? 1 : 0,
        failures: 0,
        polled: '{}',
        polled_at: 0,
        created_at: c.createdAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return configOf(row);
  }

  /** The configuration of `repository`, if any. */
  async configOf(repository: string): Promise<BuildConfigRecord | undefined> {
    const row = await this.db
      .selectFrom('build_configs')
      .selectAll()
      .where('repository', '=', repository)
      .executeTakeFirst();
    return row && configOf(row);
  }

  /** The configuration `id`, if any. */
  async config(id: number): Promise<BuildConfigRecord | undefined> {
    const row = await this.db
      .selectFrom('build_configs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && configOf(row);
  }

  /** Enabled configurations that poll and are due at `now`. */
  async duePolls(now: number): Promise<BuildConfigRecord[]> {
    const rows = await this.db
      .selectFrom('build_configs')
      .selectAll()
      .where('enabled', '=', 1)
      .where('poll_seconds', '>', 0)
      .execute();
    return rows.map(configOf).filter((c) => c.polledAt + c.pollSeconds * 1000 <= now);
  }

  /** Changes a configuration. */
  async updateConfig(id: number, patch: BuildConfigPatch): Promise<void> {
    const v: Updateable<BuildConfigsTable> = {};
    if (patch.sourceUrl !== undefined) v.source_url = patch.sourceUrl;
    if (patch.credentials !== undefined) v.credentials = patch.credentials;
    if (patch.defaultBranch !== undefined) v.default_branch = patch.defaultBranch;
    if (patch.rules !== undefined) v.rules = JSON.stringify(patch.rules);
    if (patch.paths !== undefined) v.paths = JSON.stringify(patch.paths);
    if (patch.pollSeconds !== undefined) v.poll_seconds = patch.pollSeconds;
    if (patch.rebuildOnBase !== undefined) v.rebuild_on_base = patch.rebuildOnBase ? 1 : 0;
    if (patch.hookSecret !== undefined) v.hook_secret = patch.hookSecret;
    if (patch.owner !== undefined) v.owner = patch.owner;
    if (patch.enabled !== undefined) v.enabled = patch.enabled ? 1 : 0;
    if (patch.failures !== undefined) v.failures = patch.failures;
    if (patch.disabledReason !== undefined) v.disabled_reason = patch.disabledReason;
    if (patch.polled !== undefined) v.polled = JSON.stringify(patch.polled);
    if (patch.polledAt !== undefined) v.polled_at = patch.polledAt;
    if (Object.keys(v).length > 0)
      await this.db.updateTable('build_configs').set(v).where('id', '=', id).execute();
  }

  /** Deletes a configuration with its builds. */
  async deleteConfig(repository: string): Promise<boolean> {
    const config = await this.configOf(repository);
    if (!config) return false;
    await this.db.deleteFrom('builds').where('config_id', '=', config.id).execute();
    await this.db.deleteFrom('build_configs').where('id', '=', config.id).execute();
    return true;
  }

  /** Queues builds; returns their ids. */
  async enqueue(builds: NewBuild[]): Promise<number[]> {
    if (builds.length === 0) return [];
    const rows = await this.db
      .insertInto('builds')
      .values(
        builds.map((b) => ({
          config_id: b.configId,
          repository: b.repository,
          namespace: b.namespace,
          ref: b.ref,
          commit_sha: b.commit,
          plan: JSON.stringify(b.plan),
          trigger: b.trigger,
          state: 'queued',
          attempts: 0,
          queued_at: b.queuedAt,
          log: '',
          cancel_requested: 0,
        })),
      )
      .returning('id')
      .execute();
    return rows.map((r) => Number(r.id));
  }

  /** Builds of configuration `configId` for `ref` that are queued or running, oldest first. */
  async unfinished(configId: number, ref: string): Promise<BuildRecord[]> {
    const rows = await this.db
      .selectFrom('builds')
      .selectAll()
      .where('config_id', '=', configId)
      .where('ref', '=', ref)
      .where('state', 'in', ['queued', 'running'])
      .orderBy('id')
      .execute();
    return rows.map(buildOf);
  }

  /** The build `id`, if any. */
  async build(id: number): Promise<BuildRecord | undefined> {
    const row = await this.db
      .selectFrom('builds')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && buildOf(row);
  }

  /** Builds of `repository`, newest first (without their logs). */
  async history(
    repository: string,
    options: { before?: number; limit: number },
  ): Promise<BuildRecord[]> {
    let q = this.db
      .selectFrom('builds')
      .selectAll()
      .where('repository', '=', repository)
      .orderBy('id', 'desc')
      .limit(options.limit);
    if (options.before !== undefined) q = q.where('id', '<', options.before);
    return (await q.execute()).map((r) => ({ ...buildOf(r), log: '' }));
  }

  /** Every queued build, oldest first (for positions and fair picking). */
  async queued(): Promise<BuildRecord[]> {
    const rows = await this.db
      .selectFrom('builds')
      .selectAll()
      .where('state', '=', 'queued')
      .orderBy('queued_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...buildOf(r), log: '' }));
  }

  /** Every running build (without logs). */
  async running(): Promise<BuildRecord[]> {
    const rows = await this.db
      .selectFrom('builds')
      .selectAll()
      .where('state', '=', 'running')
      .execute();
    return rows.map((r) => ({ ...buildOf(r), log: '' }));
  }

  /** Changes a build. */
  async update(
    id: number,
    patch: Partial<
      Pick<
        BuildRecord,
        | 'state'
        | 'attempts'
        | 'startedAt'
        | 'finishedAt'
        | 'digest'
        | 'bases'
        | 'error'
        | 'log'
        | 'holder'
        | 'leaseUntil'
        | 'cancelRequested'
      >
    >,
  ): Promise<void> {
    const v: Updateable<BuildsTable> = {};
    if (patch.state !== undefined) v.state = patch.state;
    if (patch.attempts !== undefined) v.attempts = patch.attempts;
    if (patch.startedAt !== undefined) v.started_at = patch.startedAt;
    if (patch.finishedAt !== undefined) v.finished_at = patch.finishedAt;
    if (patch.digest !== undefined) v.digest = patch.digest;
    if (patch.bases !== undefined) v.bases = JSON.stringify(patch.bases);
    if (patch.error !== undefined) v.error = patch.error;
    if (patch.log !== undefined) v.log = patch.log;
    if (patch.holder !== undefined) v.holder = patch.holder;
    if (patch.leaseUntil !== undefined) v.lease_until = patch.leaseUntil;
    if (patch.cancelRequested !== undefined) v.cancel_requested = patch.cancelRequested ? 1 : 0;
    if (Object.keys(v).length > 0)
      await this.db.updateTable('builds').set(v).where('id', '=', id).execute();
  }

  /** Configurations that build again when a base image changes. */
  async rebuildingOnBase(): Promise<BuildConfigRecord[]> {
    const rows = await this.db
      .selectFrom('build_configs')
      .selectAll()
      .where('rebuild_on_base', '=', 1)
      .where('enabled', '=', 1)
      .execute();
    return rows.map(configOf);
  }

  /** The newest succeeded build of each ref of configuration `configId`. */
  async lastSucceeded(configId: number): Promise<BuildRecord[]> {
    const rows = await this.db
      .selectFrom('builds')
      .selectAll()
      .where('config_id', '=', configId)
      .where('state', '=', 'succeeded')
      .orderBy('id', 'desc')
      .limit(200)
      .execute();
    const byRef = new Map<string, BuildRecord>();
    for (const r of rows) if (!byRef.has(r.ref)) byRef.set(r.ref, { ...buildOf(r), log: '' });
    return [...byRef.values()];
  }
}
