/** Webhooks, deliveries and attempts as the store hands them out, and their rows' mapping. */
import type { Selectable } from 'kysely';
import type { WebhookAttemptsTable, WebhookDeliveriesTable, WebhooksTable } from './schema.js';

/** Where a webhook listens: one repository, a namespace, or everything (administrators). */
export type WebhookScopeKind = 'repository' | 'namespace' | 'global';

/** A webhook as stored; `secrets` and `headers` are sealed text the events room opens. */
export interface WebhookRecord {
  id: number;
  scopeKind: WebhookScopeKind;
  scope: string;
  url: string;
  format: string;
  events: string[];
  filters: object;
  secrets: string;
  headers: string | null;
  caCert: string | null;
  description: string | null;
  enabled: boolean;
  createdBy: string | null;
  createdAt: number;
  circuitFailures: number;
  circuitOpenUntil: number;
}

/** A new webhook. */
export type NewWebhook = Omit<WebhookRecord, 'id' | 'circuitFailures' | 'circuitOpenUntil'>;

/** What a webhook's owner may change. */
export type WebhookPatch = Partial<
  Pick<
    WebhookRecord,
    'url' | 'format' | 'events' | 'filters' | 'secrets' | 'headers' | 'caCert' | 'description'
  > & { enabled: boolean }
>;

/** The states of a delivery: waiting (or retrying), delivered, or given up on (dead letter). */
export type DeliveryState = 'pending' | 'succeeded' | 'dead';

/** One event (or test) to deliver to one webhook. */
export interface DeliveryRecord {
  id: number;
  webhookId: number;
  eventId: number | null;
  eventType: string;
  createdAt: number;
  /** When the retry window started: the event's time, or the last redelivery by hand. */
  windowStart: number;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  finishedAt: number | null;
  contentType: string;
  body: string;
  callback: { state: string; description: string | null; at: number } | null;
}

/** A new delivery. */
export type NewDelivery = Pick<
  DeliveryRecord,
  'webhookId' | 'eventId' | 'eventType' | 'createdAt' | 'contentType' | 'body'
> & {
  /** `pending` (queued) unless given: a test send is made outside the queue. */
  state?: DeliveryState;
};

/** One attempt at a delivery. */
export interface AttemptRecord {
  id: number;
  deliveryId: number;
  at: number;
  requestHeaders: Record<string, string>;
  status: number | null;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  latencyMs: number;
  error: string | null;
}

/** How a delivery stands after an attempt. */
export type DeliveryOutcome = Pick<
  DeliveryRecord,
  'state' | 'attempts' | 'nextAttemptAt' | 'lastStatus' | 'lastError' | 'finishedAt'
>;

/** A webhook row as a record. */
export function webhookOf(r: Selectable<WebhooksTable>): WebhookRecord {
  return {
    id: Number(r.id),
    scopeKind: r.scope_kind as WebhookScopeKind,
    scope: r.scope,
    url: r.url,
    format: r.format,
    events: JSON.parse(r.events) as string[],
    filters: JSON.parse(r.filters) as object,
    secrets: r.secrets,
    headers: r.headers,
    caCert: r.ca_cert,
    description: r.description,
    enabled: Boolean(r.enabled),
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    circuitFailures: Number(r.circuit_failures),
    circuitOpenUntil: Number(r.circuit_open_until),
  };
}

/** A delivery row as a record. */
export function deliveryOf(r: Selectable<WebhookDeliveriesTable>): DeliveryRecord {
  return {
    id: Number(r.id),
    webhookId: Number(r.webhook_id),
    eventId: r.event_id === null ? null : Number(r.event_id),
    eventType: r.event_type,
    createdAt: Number(r.created_at),
    windowStart: Number(r.window_start),
    state: r.state as DeliveryState,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    lastStatus: r.last_status === null ? null : Number(r.last_status),
    lastError: r.last_error,
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    contentType: r.content_type,
    body: r.body,
    callback:
      r.callback_state === null
        ? null
        : {
            state: r.callback_state,
            description: r.callback_description,
            at: Number(r.callback_at),
          },
  };
}

/** An attempt row as a record. */
export function attemptOf(r: Selectable<WebhookAttemptsTable>): AttemptRecord {
  return {
    id: Number(r.id),
    deliveryId: Number(r.delivery_id),
    at: Number(r.at),
    requestHeaders: JSON.parse(r.request_headers) as Record<string, string>,
    status: r.status === null ? null : Number(r.status),
    responseHeaders:
      r.response_headers === null
        ? null
        : (JSON.parse(r.response_headers) as Record<string, string>),
    responseBody: r.response_body,
    latencyMs: Number(r.latency_ms),
    error: r.error,
  };
}
