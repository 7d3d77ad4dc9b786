/** The audit log as a consumer of the outbox: registry changes become audit entries. */
import type { AuditEntry, Meta, OutboxEvent } from '../meta/index.js';
import type { Logger } from '../obs/index.js';

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

/** Writes the audit entries of `events` inside the outbox transaction (and logs them). */
export function auditHandler(logger: Logger) {
  return async (tx: Meta, events: OutboxEvent[]): Promise<void> => {
    const entries = events.flatMap((e) => auditEntryOf(e) ?? []);
    for (const entry of entries) logger.info({ audit: entry }, 'audit');
    await tx.audit.append(entries);
  };
}
