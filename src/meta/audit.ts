/** The audit log table: who did what, when, from where, and how it ended. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** How an audited action ended. */
export type AuditOutcome = 'success' | 'failure' | 'denied';

/** One audit entry. */
export interface AuditEntry {
  id: number;
  at: number;
  actor: string | null;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  address: string | null;
  detail: Record<string, unknown> | null;
}

/** Which entries to read; all fields optional. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  since?: number;
  until?: number;
  /** Entries with ids below this (for paging backwards). */
  before?: number;
  limit: number;
}

/** Appends to and reads the audit log. */
export class AuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Appends entries, in order, in one statement. */
  async append(entries: Omit<AuditEntry, 'id'>[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db
      .insertInto('audit_log')
      .values(
        entries.map((entry) => ({
          at: entry.at,
          actor: entry.actor,
          action: entry.action,
          target: entry.target,
          outcome: entry.outcome,
          address: entry.address,
          detail: entry.detail ? JSON.stringify(entry.detail) : null,
        })),
      )
      .execute();
  }

  /** Entries matching `filter`, newest first. */
  async query(filter: AuditFilter): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(filter.limit);
    if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
    if (filter.action !== undefined) q = q.where('action', 'like', `${filter.action}%`);
    if (filter.target !== undefined) q = q.where('target', '=', filter.target);
    if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('at', '<', filter.until);
    if (filter.before !== undefined) q = q.where('id', '<', filter.before);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      outcome: r.outcome as AuditOutcome,
      address: r.address,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
    }));
  }
}
