/**
 * The webhooks' consumer of the outbox: each event becomes one queued delivery per webhook that
 * receives it, with its body rendered once (so every retry sends the same bytes), written in the
 * transaction that advances the consumer's cursor — no event is queued twice or skipped.
 */
import type { Meta, NewDelivery, OutboxEvent, WebhookRecord } from '../../meta/index.js';
import { eventOf, type BerthEvent } from '../model.js';
import { receives, type WebhookFilters, type WebhookInterest } from './matching.js';
import { payloadOf, type PayloadFormat, type RepositoryFacts } from './payloads.js';
import type { WebhookSealing } from './sealing.js';

/** What matching needs of a stored webhook. */
export function interestOf(hook: WebhookRecord): WebhookInterest {
  return {
    scopeKind: hook.scopeKind,
    scope: hook.scope,
    events: hook.events,
    filters: hook.filters as WebhookFilters,
  };
}

/** The scheme and host URLs in payloads start with. */
export function originOf(event: BerthEvent): string {
  return event.origin ?? (event.registry ? `https://${event.registry}` : '');
}

/** The Docker Hub `callback_url` of webhook `webhookId`'s delivery of `event`. */
export function callbackUrlOf(
  sealing: WebhookSealing,
  webhookId: number,
  event: BerthEvent,
): string {
  const token = sealing.callbackToken(webhookId, event.id);
  return `${originOf(event)}/api/v1/webhooks/${webhookId}/callbacks/${event.id}/${token}`;
}

/** The body and Content-Type `hook` is sent for `event`. */
export function deliveryOf(
  sealing: WebhookSealing,
  hook: WebhookRecord,
  event: BerthEvent,
  repository: RepositoryFacts | undefined,
): NewDelivery {
  const payload = payloadOf(hook.format as PayloadFormat, [event], {
    repository,
    callbackUrl: callbackUrlOf(sealing, hook.id, event),
  });
  return {
    webhookId: hook.id,
    eventId: event.id,
    eventType: event.type,
    createdAt: event.at,
    contentType: payload.contentType,
    body: payload.body,
  };
}

/** The outbox handler that queues deliveries for every enabled webhook receiving each event. */
export function webhookFanOut(sealing: WebhookSealing) {
  return async (tx: Meta, rows: OutboxEvent[]): Promise<void> => {
    const hooks = (await tx.webhooks.list()).filter((h) => h.enabled);
    if (hooks.length === 0) return;
    const facts = new Map<string, RepositoryFacts | undefined>();
    const repositoryFacts = async (name: string): Promise<RepositoryFacts | undefined> => {
      if (!facts.has(name)) {
        const info = await tx.repositories.info(name);
        facts.set(
          name,
          info && {
            isPrivate: info.visibility === 'private',
            description: info.description,
            createdAt: info.createdAt,
          },
        );
      }
      return facts.get(name);
    };
    const deliveries: NewDelivery[] = [];
    for (const row of rows) {
      const event = eventOf(row);
      for (const hook of hooks) {
        // A webhook hears of what happened after it was made, even when the outbox lags.
        if (event.at < hook.createdAt || !receives(interestOf(hook), event)) continue;
        const repo = event.target.repository;
        const known = repo === undefined ? undefined : await repositoryFacts(repo);
        deliveries.push(deliveryOf(sealing, hook, event, known));
      }
    }
    await tx.webhooks.enqueue(deliveries);
  };
}
