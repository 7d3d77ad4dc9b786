/** Replication rules and their executions. */
import type { Kysely, Selectable } from 'kysely';
import type { Database } from './schema.js';

/** A replication rule as stored (its settings as JSON). */
export interface ReplicationRuleRecord {
  id: number;
  name: string;
  settings: Record<string, unknown>;
  enabled: boolean;
  lastRunAt: number;
  createdBy: string | null;
  createdAt: number;
}

/** One image of an execution. */
export interface ReplicationItem {
  repository: string;
  tag: string | null;
  digest: string | null;
  action: 'copy' | 'delete';
  state: 'pending' | 'done' | 'failed' | 'skipped';
  bytes: number;
  attempts: number;
  error: string | null;
}

/** One run of a rule. */
export interface ReplicationExecutionRecord {
  id: number;
  ruleId: number;
  trigger: 'push' | 'delete' | 'schedule' | 'manual';
  /** For a push or delete trigger: the one repository and tag. */
  only: { repository: string; tag: string } | null;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  items: ReplicationItem[];
  log: string;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

type ExecutionRow = Selectable<Database['replication_executions']>;

function executionOf(r: ExecutionRow): ReplicationExecutionRecord {
  return {
    id: Number(r.id),
    ruleId: Number(r.rule_id),
    trigger: r.trigger as ReplicationExecutionRecord['trigger'],
    only: r.only ? (JSON.parse(r.only) as { repository: string; tag: string }) : null,
    state: r.state as ReplicationExecutionRecord['state'],
    items: JSON.parse(r.items) as ReplicationItem[],
    log: r.log,
    queuedAt: Number(r.queued_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

/** Reads and writes replication rules and executions. */
export class ReplicationStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every rule. */
  async rules(): Promise<ReplicationRuleRecord[]> {
    const rows = await this.db
      .selectFrom('replication_rules')
      .selectAll()
      .orderBy('name')
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      name: r.name,
      settings: JSON.parse(r.settings) as Record<string, unknown>,
      enabled: Number(r.enabled) === 1,
      lastRunAt: Number(r.last_run_at),
      createdBy: r.created_by,
      createdAt: Number(r.created_at),
    }));
  }

  /** Saves rule `name` (made or replaced); its id. */
  async putRule(
    name: string,
    settings: Record<string, unknown>,
    enabled: boolean,
    by: string | null,
  ): Promise<number> {
    const existing = (await this.rules()).find((r) => r.name === name);
    if (existing) {
      await this.db
        .updateTable('replication_rules')
        .set({ settings: JSON.stringify(settings), enabled: enabled ? 1 : 0 })
        .where('id', '=', existing.id)
        .execute();
      return existing.id;
    }
    await this.db
      .insertInto('replication_rules')
      .values({
        name,
        settings: JSON.stringify(settings),
        enabled: enabled ? 1 : 0,
        last_run_at: 0,
        created_by: by,
        created_at: Date.now(),
      } as never)
      .execute();
    return (await this.rules()).find((r) => r.name === name)!.id;
  }

  /** Removes rule `name` (and its executions); false when there was none. */
  async removeRule(name: string): Promise<boolean> {
    const rule = (await this.rules()).find((r) => r.name === name);
    if (!rule) return false;
    await this.db.deleteFrom('replication_executions').where('rule_id', '=', rule.id).execute();
    await this.db.deleteFrom('replication_rules').where('id', '=', rule.id).execute();
    return true;
  }

  /** Records that rule `id` was queued by its schedule at `at`. */
  async ran(id: number, at: number): Promise<void> {
    await this.db
      .updateTable('replication_rules')
      .set({ last_run_at: at })
      .where('id', '=', id)
      .execute();
  }

  /** Queues an execution of rule `ruleId`; its id. */
  async queue(
    ruleId: number,
    trigger: ReplicationExecutionRecord['trigger'],
    only: { repository: string; tag: string } | null,
  ): Promise<number> {
    const result = await this.db
      .insertInto('replication_executions')
      .values({
        rule_id: ruleId,
        trigger,
        only: only ? JSON.stringify(only) : null,
        state: 'queued',
        items: '[]',
        log: '',
        queued_at: Date.now(),
        started_at: null,
        finished_at: null,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(result.id);
  }

  /** Takes the oldest queued execution (marks it running); undefined when none. */
  async claim(at: number): Promise<ReplicationExecutionRecord | undefined> {
    const row = await this.db
      .selectFrom('replication_executions')
      .selectAll()
      .where('state', '=', 'queued')
      .orderBy('id')
      .executeTakeFirst();
    if (!row) return undefined;
    const taken = await this.db
      .updateTable('replication_executions')
      .set({ state: 'running', started_at: at })
      .where('id', '=', row.id)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 0) return undefined;
    return executionOf({ ...row, state: 'running', started_at: at });
  }

  /** Saves an execution's progress (and its end). */
  async progress(
    id: number,
    changes: {
      items: ReplicationItem[];
      log: string;
      state?: ReplicationExecutionRecord['state'];
      finishedAt?: number;
    },
  ): Promise<void> {
    await this.db
      .updateTable('replication_executions')
      .set({
        items: JSON.stringify(changes.items),
        log: changes.log,
        ...(changes.state ? { state: changes.state } : {}),
        ...(changes.finishedAt ? { finished_at: changes.finishedAt } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Executions, newest first (of one rule when given). */
  async executions(ruleId?: number, limit = 50): Promise<ReplicationExecutionRecord[]> {
    let q = this.db
      .selectFrom('replication_executions')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit);
    if (ruleId !== undefined) q = q.where('rule_id', '=', ruleId);
    return (await q.execute()).map(executionOf);
  }

  /** Execution `id`. */
  async execution(id: number): Promise<ReplicationExecutionRecord | undefined> {
    const r = await this.db
      .selectFrom('replication_executions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return r && executionOf(r);
  }
}
