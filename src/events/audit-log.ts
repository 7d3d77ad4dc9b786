/** The audit log: every change and every login, written to the database and to the log. */
import type { AuditRecord, AuditSink } from '../auth/index.js';
import type { Meta } from '../meta/index.js';
import type { Logger } from '../obs/index.js';

/** Writes audit records durably; a failed write is logged, never thrown at the caller. */
export class AuditLog implements AuditSink {
  constructor(
    private readonly meta: Meta,
    private readonly logger: Logger,
  ) {}

  async record(entry: AuditRecord): Promise<void> {
    const row = {
      at: Date.now(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target ?? null,
      outcome: entry.outcome,
      address: entry.address ?? null,
      detail: entry.detail ?? null,
    };
    this.logger.info({ audit: row }, 'audit');
    try {
      await this.meta.audit.append(row);
    } catch (err) {
      this.logger.error({ err, audit: row }, 'audit entry could not be written');
    }
  }
}
