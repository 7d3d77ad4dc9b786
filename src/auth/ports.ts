/** The small interfaces the auth room is handed by its composition root. */
import type { AuditOutcome } from '../meta/index.js';

/** One thing worth auditing. */
export interface AuditRecord {
  actor: string | null;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  address?: string | null;
  detail?: Record<string, unknown>;
}

const audited = new WeakSet<object>();

/** Marks `err` as recorded in the audit log already (so the HTTP edge does not record it twice). */
export function markAudited<E extends object>(err: E): E {
  audited.add(err);
  return err;
}

/** Whether `err` was recorded in the audit log where it was thrown. */
export function wasAudited(err: unknown): boolean {
  return typeof err === 'object' && err !== null && audited.has(err);
}

/** Records audit entries durably; must not throw (failures are logged by the sink). */
export interface AuditSink {
  record(entry: AuditRecord): Promise<void>;
}
