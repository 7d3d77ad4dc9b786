/** Webhooks, their queued deliveries and the log of every attempt (records: webhook-records.ts). */
import { sql, type Kysely, type Updateable } from 'kysely';
import type { Database, WebhooksTable } from './schema.js';
import {
  attemptOf,
  deliveryOf,
  webhookOf,
  type AttemptRecord,
  type DeliveryOutcome,
  type DeliveryRecord,
  type DeliveryState,
  type NewDelivery,
  type NewWebhook,
  type WebhookPatch,
  type WebhookRecord,
  type WebhookScopeKind,
} from './webhook-records.js';

/** Reads and writes webhooks, deliveries and attempts. */
export class WebhookStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Stores a new webhook and returns it. */
  async create(hook: NewWebhook): Promise<WebhookRecord> {
    const row = await this.db
      .insertInto('webhooks')
      .values({
        scope_kind: hook.scopeKind,
        scope: hook.scope,
        url: hook.url,
        format: hook.format,
        events: JSON.stringify(hook.events),
        filters: JSON.stringify(hook.filters),
        secrets: hook.secrets,
        headers: hook.headers,
        ca_cert: hook.caCert,
        description: hook.description,
        enabled: hook.enabled ? 1 : 0,
        created_by: hook.createdBy,
        created_at: hook.createdAt,
        circuit_failures: 0,
        circuit_open_until: 0,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return webhookOf(row);
  }

  /** The webhook `id`, if any. */
  async byId(id: number): Promise<WebhookRecord | undefined> {
    const row = await this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && webhookOf(row);
  }

  /** Webhooks of one scope (all of them when `kind` is undefined), oldest first. */
  async list(kind?: WebhookScopeKind, scope?: string): Promise<WebhookRecord[]> {
    let q = this.db.selectFrom('webhooks').selectAll().orderBy('id');
    if (kind) q = q.where('scope_kind', '=', kind);
    if (scope !== undefined) q = q.where('scope', '=', scope);
    return (await q.execute()).map(webhookOf);
  }

  /** Changes a webhook. */
  async update(id: number, patch: WebhookPatch): Promise<void> {
    const values: Updateable<WebhooksTable> = {};
    if (patch.url !== undefined) values.url = patch.url;
    if (patch.format !== undefined) values.format = patch.format;
    if (patch.events !== undefined) values.events = JSON.stringify(patch.events);
    if (patch.filters !== undefined) values.filters = JSON.stringify(patch.filters);
    if (patch.secrets !== undefined) values.secrets = patch.secrets;
    if (patch.headers !== undefined) values.headers = patch.headers;
    if (patch.caCert !== undefined) values.ca_cert = patch.caCert;
    if (patch.description !== undefined) values.description = patch.description;
    if (patch.enabled !== undefined) values.enabled = patch.enabled ? 1 : 0;
    if (Object.keys(values).length === 0) return;
    await this.db.updateTable('webhooks').set(values).where('id', '=', id).execute();
  }

  /** Deletes a webhook with its deliveries and attempts. */
  async delete(id: number): Promise<boolean> {
    const attempts = this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('webhook_id', '=', id);
    await this.db.deleteFrom('webhook_attempts').where('delivery_id', 'in', attempts).execute();
    await this.db.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
    const result = await this.db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Deletes every webhook of one scope (when its repository or namespace goes). */
  async deleteScope(kind: WebhookScopeKind, scope: string): Promise<void> {
    for (const hook of await this.list(kind, scope)) await this.delete(hook.id);
  }

  /** Records the endpoint's circuit after an attempt. */
  async setCircuit(id: number, failures: number, openUntil: number): Promise<void> {
    await this.db
      .updateTable('webhooks')
      .set({ circuit_failures: failures, circuit_open_until: openUntil })
      .where('id', '=', id)
      .execute();
  }

  /** Queues deliveries, due at once; returns their ids. */
  async enqueue(deliveries: NewDelivery[]): Promise<number[]> {
    if (deliveries.length === 0) return [];
    const rows = await this.db
      .insertInto('webhook_deliveries')
      .values(
        deliveries.map((d) => ({
          webhook_id: d.webhookId,
          event_id: d.eventId,
          event_type: d.eventType,
          created_at: d.createdAt,
          window_start: d.createdAt,
          state: d.state ?? 'pending',
          attempts: 0,
          next_attempt_at: d.createdAt,
          content_type: d.contentType,
          body: d.body,
        })),
      )
      .returning('id')
      .execute();
    return rows.map((r) => Number(r.id));
  }

  /**
   * The webhooks whose oldest pending delivery is due at `now` (and whose circuit is closed),
   * with that delivery: each endpoint gets its deliveries one at a time, in order.
   */
  async due(now: number, limit: number): Promise<DeliveryRecord[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .selectAll('d')
      .where('d.state', '=', 'pending')
      .where('w.enabled', '=', 1)
      .where('w.circuit_open_until', '<=', now)
      .where('d.next_attempt_at', '<=', now)
      .where(
        'd.id',
        '=',
        sql<number>`(select min(h.id) from webhook_deliveries h where h.webhook_id = d.webhook_id and h.state = 'pending')`,
      )
      .orderBy('d.next_attempt_at')
      .limit(limit)
      .execute();
    return rows.map(deliveryOf);
  }

  /** The oldest pending delivery of webhook `id`, if any. */
  async head(webhookId: number): Promise<DeliveryRecord | undefined> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('state', '=', 'pending')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row && deliveryOf(row);
  }

  /** The delivery `id`, if any. */
  async delivery(id: number): Promise<DeliveryRecord | undefined> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && deliveryOf(row);
  }

  /** Webhook `webhookId`'s delivery of event `eventId`, if any. */
  async deliveryOfEvent(webhookId: number, eventId: number): Promise<DeliveryRecord | undefined> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row && deliveryOf(row);
  }

  /** A webhook's deliveries, newest first, optionally of one state, before delivery id `before`. */
  async deliveries(
    webhookId: number,
    options: { state?: DeliveryState; before?: number; limit: number },
  ): Promise<DeliveryRecord[]> {
    let q = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .orderBy('id', 'desc')
      .limit(options.limit);
    if (options.state) q = q.where('state', '=', options.state);
    if (options.before !== undefined) q = q.where('id', '<', options.before);
    return (await q.execute()).map(deliveryOf);
  }

  /** Every attempt at delivery `id`, oldest first. */
  async attempts(deliveryId: number): Promise<AttemptRecord[]> {
    const rows = await this.db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('delivery_id', '=', deliveryId)
      .orderBy('id')
      .execute();
    return rows.map(attemptOf);
  }

  /** Logs an attempt at a delivery and records how the delivery stands after it. */
  async recordAttempt(attempt: Omit<AttemptRecord, 'id'>, outcome: DeliveryOutcome): Promise<void> {
    await this.db
      .insertInto('webhook_attempts')
      .values({
        delivery_id: attempt.deliveryId,
        at: attempt.at,
        request_headers: JSON.stringify(attempt.requestHeaders),
        status: attempt.status,
        response_headers: attempt.responseHeaders && JSON.stringify(attempt.responseHeaders),
        response_body: attempt.responseBody,
        latency_ms: attempt.latencyMs,
        error: attempt.error,
      })
      .execute();
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        state: outcome.state,
        attempts: outcome.attempts,
        next_attempt_at: outcome.nextAttemptAt,
        last_status: outcome.lastStatus,
        last_error: outcome.lastError,
        finished_at: outcome.finishedAt,
      })
      .where('id', '=', attempt.deliveryId)
      .execute();
  }

  /**
   * Queues deliveries of webhook `webhookId` again, due at `now` with a fresh retry window: one
   * (`id`), or every dead one. Returns how many.
   */
  async redeliver(webhookId: number, now: number, id?: number): Promise<number> {
    let q = this.db
      .updateTable('webhook_deliveries')
      .set({ state: 'pending', attempts: 0, next_attempt_at: now, window_start: now })
      .where('webhook_id', '=', webhookId);
    q = id === undefined ? q.where('state', '=', 'dead') : q.where('id', '=', id);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Records the receiver's report on a delivery (the Docker Hub callback). */
  async setCallback(id: number, state: string, description: string | null, at: number) {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ callback_state: state, callback_description: description, callback_at: at })
      .where('id', '=', id)
      .execute();
  }

  /** How many deliveries wait, and when the oldest of them was made. */
  async queue(): Promise<{ pending: number; oldest: number | null }> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('created_at').as('oldest')])
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return {
      pending: Number(row?.n ?? 0),
      oldest: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest),
    };
  }

  /** Deletes finished deliveries (and their attempts) that finished before `before`. */
  async prune(before: number): Promise<number> {
    const old = this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('state', '!=', 'pending')
      .where('finished_at', '<', before);
    await this.db.deleteFrom('webhook_attempts').where('delivery_id', 'in', old).execute();
    const result = await this.db
      .deleteFrom('webhook_deliveries')
      .where('state', '!=', 'pending')
      .where('finished_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
