/**
 * The audit log of what the auth room and the HTTP edge record (logins, account, repository and
 * trust changes, refusals), written to the database and to the log. Each entry that is an event
 * others may want (a login, an account or repository change, trust data published) is appended to
 * the outbox in the same transaction, so webhooks and other consumers see exactly what the audit
 * log holds. Entries recorded close together are committed together (one transaction, one sync);
 * `record` resolves once its entry is durable.
 */
import type { AuditRecord, AuditSink } from '../auth/index.js';
import type { AuditEntry, Meta, OutboxEvent } from '../meta/index.js';
import type { EventType } from './model.js';
import type { Logger } from '../obs/index.js';

type Row = Omit<AuditEntry, 'id'>;

/** The event type of an audit action, or undefined for actions that are not events. */
export function eventTypeOfAction(
  action: string,
  detail: Record<string, unknown> | null,
): EventType | undefined {
  if (action === 'login') return 'login';
  if (action === 'repository.create') return 'repository.created';
  if (action === 'repository.delete') return 'repository.deleted';
  if (action === 'repository.update')
    return detail && 'visibility' in detail ? 'repository.visibility' : undefined;
  if (action === 'trust.publish' || action === 'trust.delete' || action === 'trust.rotate-key')
    return 'trust.published';
  if (action === 'gc.finish') return 'gc.finished';
  if (action.startsWith('cluster.')) return 'cluster.changed';
  if (/^(user|org|team|token)\.|^permission\.|^name\.free$/.test(action)) return 'account.changed';
  return undefined;
}

/** The outbox event of an audit entry, if it is one. */
function eventOfEntry(row: Row): Omit<OutboxEvent, 'id'> | undefined {
  const type = eventTypeOfAction(row.action, row.detail);
  if (!type) return undefined;
  const repository =
    type.startsWith('repository.') || type === 'trust.published' ? row.target : null;
  return {
    at: row.at,
    type,
    repository,
    actor: { name: row.actor, address: row.address },
    target: {
      ...(repository ? { repository } : { name: row.target }),
      action: row.action,
      ...(row.detail ?? {}),
    },
    outcome: row.outcome,
  };
}

/** Writes audit records durably in small batches; a failed write is logged, never thrown. */
export class AuditLog implements AuditSink {
  private queue: { row: Row; done: () => void }[] = [];
  private writing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly meta: Meta,
    private readonly logger: Logger,
    /** Told after events were committed (so outbox consumers look at once). */
    private readonly committed: () => void = () => undefined,
  ) {}

  private rowOf(entry: AuditRecord): Row {
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
    return row;
  }

  async recordIn(tx: Meta, entry: AuditRecord): Promise<void> {
    const row = this.rowOf(entry);
    await tx.audit.append([row]);
    const event = eventOfEntry(row);
    if (!event) return;
    await tx.outbox.append(event);
    // Consumers look soon after; their timers catch it should this wake-up come before the commit.
    setImmediate(this.committed);
  }

  record(entry: AuditRecord): Promise<void> {
    const row = this.rowOf(entry);
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
        const rows = batch.map((b) => b.row);
        const events = rows.flatMap((r) => eventOfEntry(r) ?? []);
        await this.meta.writeTransaction(async (tx) => {
          await tx.audit.append(rows);
          for (const event of events) await tx.outbox.append(event);
        });
        if (events.length > 0) this.committed();
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
