/**
 * The audit log: every change and every login, written to the database and to the log. Entries
 * recorded close together are committed together (one statement, one sync), so auditing does not
 * cost every request its own commit; `record` resolves once its entry is durable.
 */
import type { AuditRecord, AuditSink } from '../auth/index.js';
import type { AuditEntry, Meta } from '../meta/index.js';
import type { Logger } from '../obs/index.js';

type Row = Omit<AuditEntry, 'id'>;

/** Writes audit records durably in small batches; a failed write is logged, never thrown. */
export class AuditLog implements AuditSink {
  private queue: { row: Row; done: () => void }[] = [];
  private writing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly meta: Meta,
    private readonly logger: Logger,
  ) {}

  record(entry: AuditRecord): Promise<void> {
    const row: Row = {
      at: Date.now(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target ?? null,
      outcome: entry.outcome,
      address: entry.address ?? null,
      detail: entry.detail ?? null,
    };
    this.logger.info({ audit: row }, 'audit');
    return new Promise((resolve) => {
      this.queue.push({ row, done: resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    this.writing = this.writing.then(async () => {
      try {
        await this.meta.audit.append(batch.map((b) => b.row));
      } catch (err) {
        this.logger.error({ err, entries: batch.length }, 'audit entries could not be written');
      }
      batch.forEach((b) => b.done());
    });
  }

  /** Resolves once every entry recorded so far is written. */
  async drain(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    await this.writing;
  }
}
