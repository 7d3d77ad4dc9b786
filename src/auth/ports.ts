/** The small interfaces the auth room is handed by its composition root. */
import type { AuditOutcome, Meta } from '../meta/index.js';

/** One thing worth auditing. */
export interface AuditRecord {
  actor: string | null;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  address?: string | null;
  detail?: Record<string, unknown>;
}

export { markAudited, wasAudited } from '../kit/index.js';

/** Records audit entries durably; must not throw (failures are logged by the sink). */
export interface AuditSink {
  record(entry: AuditRecord): Promise<void>;
  /**
   * Records `entry` (and the event it is, if any) inside `tx`, the write transaction of the
   * change it describes: both commit together or not at all.
   */
  recordIn(tx: Meta, entry: AuditRecord): Promise<void>;
}
