/** Retention policies, their runs, the trash of tags they removed, and the tag facts they judge. */
import type { Kysely, Selectable } from 'kysely';
import type { Database } from './schema.js';

/** A stored retention policy (its rules as JSON the retention room validates). */
export interface RetentionPolicyRecord {
  id: number;
  /** A repository (`acme/app`) or a namespace (`acme/`). */
  scope: string;
  rules: unknown;
  /** Runs on its own every so many hours; null: by hand only. */
  everyHours: number | null;
  /** Days a removed tag stays in the trash, restorable, before its manifest goes. */
  restoreDays: number;
  enabled: boolean;
  lastRunAt: number;
  createdBy: string | null;
  createdAt: number;
}

/** One run of a policy (or a dry run). */
export interface RetentionRunRecord {
  id: number;
  policyId: number;
  trigger: string;
  dryRun: boolean;
  startedAt: number;
  finishedAt: number | null;
  removed: number;
  kept: number;
  report: unknown;
  error: string | null;
}

/** A tag a run removed, restorable until `restoreUntil`. */
export interface TrashRecord {
  id: number;
  repositoryId: number;
  repository: string;
  tag: string;
  digest: string;
  runId: number;
  pushedAt: number;
  removedAt: number;
  restoreUntil: number;
}

/** What retention knows of a tag. */
export interface TagFacts {
  tag: string;
  digest: string;
  pushedAt: number;
  pulledAt: number | null;
}

const policyOf = (r: Selectable<Database['retention_policies']>): RetentionPolicyRecord => ({
  id: Number(r.id),
  scope: r.scope,
  rules: JSON.parse(r.rules) as unknown,
  everyHours: r.every_hours === null ? null : Number(r.every_hours),
  restoreDays: Number(r.restore_days),
  enabled: Number(r.enabled) === 1,
  lastRunAt: Number(r.last_run_at),
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
});

const trashOf = (r: Selectable<Database['retention_trash']>): TrashRecord => ({
  id: Number(r.id),
  repositoryId: Number(r.repository_id),
  repository: r.repository,
  tag: r.tag,
  digest: r.digest,
  runId: Number(r.run_id),
  pushedAt: Number(r.pushed_at),
  removedAt: Number(r.removed_at),
  restoreUntil: Number(r.restore_until),
});

/** Reads and writes retention's tables. */
export class RetentionStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every policy, oldest first. */
  async policies(): Promise<RetentionPolicyRecord[]> {
    const rows = await this.db.selectFrom('retention_policies').selectAll().orderBy('id').execute();
    return rows.map(policyOf);
  }

  /** Policy `id`, or undefined. */
  async policy(id: number): Promise<RetentionPolicyRecord | undefined> {
    const row = await this.db
      .selectFrom('retention_policies')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && policyOf(row);
  }

  /** Adds a policy; its id. */
  async addPolicy(p: Omit<RetentionPolicyRecord, 'id'>): Promise<number> {
    const row = await this.db
      .insertInto('retention_policies')
      .values({
        scope: p.scope,
        rules: JSON.stringify(p.rules),
        every_hours: p.everyHours,
        restore_days: p.restoreDays,
        enabled: p.enabled ? 1 : 0,
        last_run_at: p.lastRunAt,
        created_by: p.createdBy,
        created_at: p.createdAt,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Replaces policy `id`'s settings; false when there is none. */
  async updatePolicy(
    id: number,
    p: Pick<RetentionPolicyRecord, 'scope' | 'rules' | 'everyHours' | 'restoreDays' | 'enabled'>,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('retention_policies')
      .set({
        scope: p.scope,
        rules: JSON.stringify(p.rules),
        every_hours: p.everyHours,
        restore_days: p.restoreDays,
        enabled: p.enabled ? 1 : 0,
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Removes policy `id`; false when there was none. */
  async removePolicy(id: number): Promise<boolean> {
    const r = await this.db
      .deleteFrom('retention_policies')
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Claims a scheduled run of policy `id` last run at `lastRunAt` (false: another process did). */
  async claimScheduled(id: number, lastRunAt: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('retention_policies')
      .set({ last_run_at: now })
      .where('id', '=', id)
      .where('last_run_at', '=', lastRunAt)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Starts a run record; its id. */
  async startRun(policyId: number, trigger: string, dryRun: boolean, at: number): Promise<number> {
    const row = await this.db
      .insertInto('retention_runs')
      .values({
        policy_id: policyId,
        trigger,
        dry_run: dryRun ? 1 : 0,
        started_at: at,
        finished_at: null,
        removed: 0,
        kept: 0,
        report: '{}',
        error: null,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Records how run `id` ended. */
  async finishRun(
    id: number,
    end: { at: number; removed: number; kept: number; report: unknown; error: string | null },
  ): Promise<void> {
    await this.db
      .updateTable('retention_runs')
      .set({
        finished_at: end.at,
        removed: end.removed,
        kept: end.kept,
        report: JSON.stringify(end.report),
        error: end.error,
      })
      .where('id', '=', id)
      .execute();
  }

  /** The newest runs (of one policy when given), at most `limit`. */
  async runs(limit: number, policyId?: number): Promise<RetentionRunRecord[]> {
    let q = this.db.selectFrom('retention_runs').selectAll().orderBy('id', 'desc').limit(limit);
    if (policyId !== undefined) q = q.where('policy_id', '=', policyId);
    return (await q.execute()).map((r) => ({
      id: Number(r.id),
      policyId: Number(r.policy_id),
      trigger: r.trigger,
      dryRun: Number(r.dry_run) === 1,
      startedAt: Number(r.started_at),
      finishedAt: r.finished_at === null ? null : Number(r.finished_at),
      removed: Number(r.removed),
      kept: Number(r.kept),
      report: JSON.parse(r.report) as unknown,
      error: r.error,
    }));
  }

  /** The tags of repository `repositoryId` with when they were pushed and last pulled. */
  async tagFacts(repositoryId: number): Promise<TagFacts[]> {
    const rows = await this.db
      .selectFrom('tags')
      .select(['name', 'manifest_digest', 'updated_at', 'last_pulled_at'])
      .where('repository_id', '=', repositoryId)
      .execute();
    return rows.map((r) => ({
      tag: r.name,
      digest: r.manifest_digest,
      pushedAt: Number(r.updated_at),
      pulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
    }));
  }

  /** The manifests the indexes `digests` of repository `repositoryId` list. */
  async childrenOf(repositoryId: number, digests: string[]): Promise<string[]> {
    if (digests.length === 0) return [];
    const rows = await this.db
      .selectFrom('manifest_children')
      .select('child_digest')
      .where('repository_id', '=', repositoryId)
      .where('manifest_digest', 'in', digests)
      .execute();
    return rows.map((r) => r.child_digest);
  }

  /** Puts a removed tag in the trash. */
  async trash(item: Omit<TrashRecord, 'id'>): Promise<void> {
    await this.db
      .insertInto('retention_trash')
      .values({
        repository_id: item.repositoryId,
        repository: item.repository,
        tag: item.tag,
        digest: item.digest,
        run_id: item.runId,
        pushed_at: item.pushedAt,
        removed_at: item.removedAt,
        restore_until: item.restoreUntil,
      } as never)
      .execute();
  }

  /** The trash, newest first (only what expired by `expiredBy`, when given). */
  async trashed(options: { limit: number; expiredBy?: number }): Promise<TrashRecord[]> {
    let q = this.db
      .selectFrom('retention_trash')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(options.limit);
    if (options.expiredBy !== undefined) q = q.where('restore_until', '<', options.expiredBy);
    return (await q.execute()).map(trashOf);
  }

  /** Trash item `id`, or undefined. */
  async trashItem(id: number): Promise<TrashRecord | undefined> {
    const row = await this.db
      .selectFrom('retention_trash')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && trashOf(row);
  }

  /** Takes item `id` out of the trash; false when it was not there. */
  async untrash(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('retention_trash').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Whether manifest `digest` of repository `repositoryId` is in the trash under some tag. */
  async inTrash(repositoryId: number, digest: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('retention_trash')
      .select('id')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row !== undefined;
  }
}
