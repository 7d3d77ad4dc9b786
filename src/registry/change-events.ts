/** Recording registry changes in the outbox, inside the transactions that make them. */
import type { Meta, OutboxEvent } from '../meta/index.js';
import type { ChangeContext } from './ports.js';

/** What a change event says about its target. */
export interface ChangeTarget {
  repository: string;
  digest?: string;
  tag?: string;
  mediaType?: string;
  size?: number;
  from?: string;
  /** Why a read was refused. */
  reason?: string;
  /** Pulls one event stands for (same image, same client, within one flush), when more than one. */
  count?: number;
  /** When the last of those pulls was (the event's own time is the first's). */
  lastAt?: number;
}

/** The outbox row of a `type` event for `target` done in `context` (nobody known when absent). */
export function changeEvent(
  type: string,
  target: ChangeTarget,
  context: ChangeContext = {},
  options: { outcome?: 'success' | 'denied'; at?: number } = {},
): Omit<OutboxEvent, 'id'> {
  return {
    at: options.at ?? Date.now(),
    type,
    repository: target.repository,
    actor: {
      name: context.actor ?? null,
      address: context.address ?? null,
      userAgent: context.userAgent ?? null,
    },
    target: {
      ...target,
      ...(context.registry ? { registry: context.registry } : {}),
      ...(context.origin ? { origin: context.origin } : {}),
    },
    outcome: options.outcome ?? 'success',
  };
}

/**
 * Appends a `type` event (a change, or a read worth recording such as a pull) for `target` done
 * in `context` to the outbox of the transaction `tx`: it commits with the change, or not at all.
 */
export function recordChange(
  tx: Meta,
  type: string,
  target: ChangeTarget,
  context: ChangeContext = {},
  options: { outcome?: 'success' | 'denied'; at?: number } = {},
): Promise<void> {
  return tx.outbox.append(changeEvent(type, target, context, options));
}
