/** The audit log as a consumer of the outbox: registry changes become audit entries. */
import type { AuditEntry, Meta, OutboxEvent } from '../meta/index.js';
import type { Logger } from '../obs/index.js';
import type { OutboxConsumer } from './outbox-pump.js';

/** The audit action of each outbox event type (others are not audited from the outbox). */
const ACTIONS: Record<string, string> = {
  'blob.uploaded': 'blob.push',
  'blob.mounted': 'blob.mount',
  'blob.deleted': 'blob.delete',
  'manifest.pushed': 'manifest.push',
  'manifest.pulled': 'manifest.pull',
  'build.queued': 'build.queue',
  'build.started': 'build.start',
  'build.succeeded': 'build.succeed',
  'build.failed': 'build.fail',
  'build.cancelled': 'build.cancel',
  'build.trigger.disabled': 'build.trigger.disable',
  'manifest.deleted': 'manifest.delete',
  'tag.deleted': 'tag.delete',
  'quota.warning': 'quota.warning',
  'retention.removed': 'retention.remove',
  'retention.restored': 'retention.restore',
  'signature.unverified': 'signature.unverified',
};

/** The audit entry an outbox event makes, or undefined for one the audit log does not keep. */
export function auditEntryOf(event: OutboxEvent): Omit<AuditEntry, 'id'> | undefined {
  const action = ACTIONS[event.type];
  if (!action) return undefined;
  const { tag, digest, size, mediaType, from, reason, build, commit, ref, count, lastAt } =
    event.target as Record<string, unknown>;
  const actor = event.actor as { name?: string | null; address?: string | null };
  return {
    at: event.at,
    actor: actor.name ?? null,
    action,
    target: event.repository,
    outcome: event.outcome,
    address: actor.address ?? null,
    detail: Object.fromEntries(
      Object.entries({
        reference: tag ?? digest,
        digest,
        size,
        mediaType,
        from,
        reason,
        build,
        commit,
        ref,
        count,
        lastAt,
      }).filter(([, v]) => v !== undefined),
    ),
  };
}

/**
 * The audit log's consumer of the outbox: writes the audit entries of its events inside the
 * outbox transaction, and logs them once that transaction commits (never twice for a batch
 * rolled back and handled again).
 */
export function auditConsumer(logger: Logger): OutboxConsumer {
  return {
    name: 'audit',
    handle: async (tx: Meta, events: OutboxEvent[]): Promise<void> => {
      await tx.audit.append(events.flatMap((e) => auditEntryOf(e) ?? []));
    },
    handled: (events) => {
      for (const e of events) {
        const entry = auditEntryOf(e);
        if (entry) logger.info({ audit: entry }, 'audit');
      }
    },
  };
}
