/**
 * The event model: one shape for everything that changes or is read, whoever consumes it (the
 * audit log, webhooks, metrics). Events are plain data; they do no I/O.
 */

/** What happened. */
export type EventType =
  | 'manifest.pushed'
  | 'manifest.deleted'
  | 'manifest.pulled'
  | 'tag.deleted'
  | 'blob.uploaded'
  | 'blob.mounted'
  | 'blob.deleted'
  | 'repository.created'
  | 'repository.deleted'
  | 'repository.visibility'
  | 'trust.published'
  | 'account.changed'
  | 'login'
  | 'gc.finished'
  | 'build.queued'
  | 'build.started'
  | 'build.succeeded'
  | 'build.failed'
  | 'build.cancelled'
  | 'build.trigger.disabled'
  | 'cluster.changed'
  | 'replication.started'
  | 'replication.succeeded'
  | 'replication.failed'
  | 'quota.warning'
  | 'retention.removed'
  | 'retention.restored'
  | 'signature.unverified';

/** Who did it, from where. */
export interface EventActor {
  /** The account name, or null for anonymous callers and the system itself. */
  name: string | null;
  /** How they proved it: a password session, an access token (`pat:<id>`), … */
  credential?: string;
  address?: string | null;
  userAgent?: string | null;
}

/** What it happened to. */
export interface EventTarget {
  repository?: string;
  tag?: string;
  digest?: string;
  mediaType?: string;
  size?: number;
  /** For accounts, organisations and teams. */
  name?: string;
  /** For a pull event standing for several pulls of the same client: how many, the last one's time. */
  count?: number;
  lastAt?: number;
}

/** One event, as stored in the outbox and handed to consumers. */
export interface BerthEvent {
  /** Unique and increasing in the order events were committed. */
  id: number;
  type: EventType;
  /** Milliseconds since the epoch. */
  at: number;
  actor: EventActor;
  target: EventTarget;
  outcome: 'success' | 'failure' | 'denied';
  /** The registry's public name (`domain`, else the Host clients used), for URLs in payloads. */
  registry?: string;
  /** The scheme and host clients used (`https://registry.example.com`), for URLs in payloads. */
  origin?: string;
}

/** The event an outbox row holds (the outbox keeps `registry` and `origin` in the target). */
export function eventOf(row: {
  id: number;
  type: string;
  at: number;
  actor: Record<string, unknown>;
  target: Record<string, unknown>;
  outcome: BerthEvent['outcome'];
}): BerthEvent {
  const { registry, origin, ...target } = row.target as EventTarget & {
    registry?: string;
    origin?: string;
  };
  return {
    id: row.id,
    type: row.type as EventType,
    at: row.at,
    actor: row.actor as unknown as EventActor,
    target,
    outcome: row.outcome,
    ...(registry ? { registry } : {}),
    ...(origin ? { origin } : {}),
  };
}
