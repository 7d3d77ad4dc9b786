/**
 * Managing webhooks for an actor: who may set them up where (a repository's or namespace's
 * administrators, administrators for global ones), validation of destinations and filters,
 * secrets shown once and sealed at rest, the delivery log, redelivery, test sends and the Docker
 * Hub callback. Views never carry secrets.
 */
import type { Actor, AuthService } from '../auth/index.js';
import {
  EVENT_TYPES,
  destinationProblem,
  filtersProblem,
  isWebhookSecret,
  newWebhookSecret,
  payloadOf,
  type AttemptResult,
  type DestinationRules,
  type EventType,
  type PayloadFormat,
  type WebhookDispatcher,
  type WebhookFilters,
  type WebhookSealing,
} from '../events/index.js';
import type {
  AttemptRecord,
  DeliveryRecord,
  DeliveryState,
  Meta,
  WebhookRecord,
  WebhookScopeKind,
} from '../meta/index.js';
import { BerthError } from '../oci/index.js';

/** Where a webhook listens. */
export interface WebhookScope {
  kind: WebhookScopeKind;
  /** The repository or namespace; empty for global webhooks. */
  name: string;
}

/** What a caller sets on a webhook. */
export interface WebhookInput {
  url: string;
  format?: PayloadFormat;
  events?: EventType[];
  filters?: WebhookFilters;
  /** A `whsec_` secret of the caller's; one is made when absent. */
  secret?: string;
  headers?: Record<string, string>;
  caCert?: string | null;
  description?: string | null;
  enabled?: boolean;
}

/** A webhook as the API shows it (no secrets, custom header names only). */
export interface WebhookView {
  id: number;
  scope: WebhookScope;
  url: string;
  format: string;
  events: string[];
  filters: WebhookFilters;
  headers: string[];
  customCa: boolean;
  description: string | null;
  enabled: boolean;
  createdBy: string | null;
  createdAt: string;
  /** Secrets that sign deliveries now (two during a rotation), by their last four characters. */
  secrets: { hint: string; expiresAt: string | null }[];
  circuit: { failures: number; openUntil: string | null };
}

/** A delivery as the log shows it. */
export interface DeliveryView {
  id: number;
  eventId: number | null;
  eventType: string;
  createdAt: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  finishedAt: string | null;
  callback: { state: string; description: string | null; at: string } | null;
}

/** A delivery with its body and every attempt. */
export interface DeliveryDetail extends DeliveryView {
  contentType: string;
  body: string;
  log: (Omit<AttemptRecord, 'at' | 'deliveryId'> & { at: string })[];
}

const iso = (ms: number): string => new Date(ms).toISOString();
const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
const RESERVED = /^(content-type|content-length|host|user-agent|webhook-.*|transfer-encoding)$/i;

/** The part of the service the dispatcher plays in tests and redeliveries. */
export type Dispatch = Pick<WebhookDispatcher, 'attempt' | 'notify'>;

/** Webhook management, checked per actor. */
export class WebhookService {
  constructor(
    private readonly meta: Meta,
    private readonly auth: AuthService,
    private readonly sealing: WebhookSealing,
    private readonly rules: DestinationRules,
    private readonly dispatch?: Dispatch,
    private readonly now: () => number = Date.now,
  ) {}

  private async requireAdmin(actor: Actor, scope: WebhookScope): Promise<void> {
    const { principal } = actor;
    const allowed =
      scope.kind === 'global'
        ? principal.admin && (principal.cap === undefined || principal.cap === 'admin')
        : await this.auth.policy.administers(principal, { kind: scope.kind, name: scope.name });
    if (!allowed)
      throw new BerthError(
        'DENIED',
        scope.kind === 'global'
          ? 'only administrators manage global webhooks'
          : `only administrators of ${scope.name} manage its webhooks`,
      );
  }

  private async hook(actor: Actor, id: number): Promise<WebhookRecord> {
    const hook = await this.meta.webhooks.byId(id);
    if (!hook) throw new BerthError('NOT_FOUND', `no webhook ${id}`);
    await this.requireAdmin(actor, { kind: hook.scopeKind, name: hook.scope });
    return hook;
  }

  private view(hook: WebhookRecord): WebhookView {
    const now = this.now();
    const secrets = this.sealing
      .openSecrets(hook.id, hook.secrets)
      .filter((s) => s.expiresAt === null || s.expiresAt > now);
    return {
      id: hook.id,
      scope: { kind: hook.scopeKind, name: hook.scope },
      url: hook.url,
      format: hook.format,
      events: hook.events,
      filters: hook.filters as WebhookFilters,
      headers: Object.keys(this.sealing.openHeaders(hook.id, hook.headers)),
      customCa: hook.caCert !== null,
      description: hook.description,
      enabled: hook.enabled,
      createdBy: hook.createdBy,
      createdAt: iso(hook.createdAt),
      secrets: secrets.map((s) => ({
        hint: `…${s.secret.slice(-4)}`,
        expiresAt: s.expiresAt === null ? null : iso(s.expiresAt),
      })),
      circuit: {
        failures: hook.circuitFailures,
        openUntil: hook.circuitOpenUntil > now ? iso(hook.circuitOpenUntil) : null,
      },
    };
  }

  private async check(input: Partial<WebhookInput>): Promise<void> {
    if (input.url !== undefined) {
      const problem = await destinationProblem(input.url, this.rules);
      if (problem) throw new BerthError('INVALID_REQUEST', `url: ${problem}`);
    }
    const unknown = input.events?.find((e) => !EVENT_TYPES.includes(e));
    if (unknown) throw new BerthError('INVALID_REQUEST', `events: unknown event type ${unknown}`);
    if (input.events && input.events.length === 0)
      throw new BerthError('INVALID_REQUEST', 'events: name at least one event type');
    const filterProblem = input.filters && filtersProblem(input.filters);
    if (filterProblem) throw new BerthError('INVALID_REQUEST', `filters: ${filterProblem}`);
    if (input.secret !== undefined && !isWebhookSecret(input.secret))
      throw new BerthError('INVALID_REQUEST', 'secret: whsec_ and 24 to 64 bytes in base64');
    for (const [name, value] of Object.entries(input.headers ?? {}))
      if (!HEADER_NAME.test(name) || RESERVED.test(name) || /[\r\n]/.test(value))
        throw new BerthError('INVALID_REQUEST', `headers: ${name} may not be set`);
  }

  private async scopeExists(scope: WebhookScope): Promise<void> {
    if (scope.kind === 'repository' && !(await this.meta.repositories.info(scope.name)))
      throw new BerthError('NOT_FOUND', `no repository ${scope.name}`);
    if (scope.kind === 'namespace' && !(await this.meta.accounts.byName(scope.name)))
      throw new BerthError('NOT_FOUND', `no user or organisation ${scope.name}`);
  }

  /** Creates a webhook; its signing secret is returned this once. */
  async create(
    actor: Actor,
    scope: WebhookScope,
    input: WebhookInput,
  ): Promise<{ webhook: WebhookView; secret: string }> {
    await this.requireAdmin(actor, scope);
    await this.scopeExists(scope);
    await this.check(input);
    const secret = input.secret ?? newWebhookSecret();
    const hook = await this.meta.writeTransaction(async (tx) => {
      const created = await tx.webhooks.create({
        scopeKind: scope.kind,
        scope: scope.kind === 'global' ? '' : scope.name,
        url: input.url,
        format: input.format ?? 'hub',
        events: input.events ?? ['manifest.pushed'],
        filters: input.filters ?? {},
        secrets: '',
        headers: null,
        caCert: input.caCert ?? null,
        description: input.description ?? null,
        enabled: input.enabled ?? true,
        createdBy: actor.principal.name,
        createdAt: this.now(),
      });
      // Sealed under the id, which exists only now.
      await tx.webhooks.update(created.id, {
        secrets: this.sealing.sealSecrets(created.id, [{ secret, expiresAt: null }]),
        headers: this.sealing.sealHeaders(created.id, input.headers ?? {}),
      });
      return (await tx.webhooks.byId(created.id))!;
    });
    return { webhook: this.view(hook), secret };
  }

  /** The webhooks of one scope. */
  async list(actor: Actor, scope: WebhookScope): Promise<WebhookView[]> {
    await this.requireAdmin(actor, scope);
    const hooks = await this.meta.webhooks.list(
      scope.kind,
      scope.kind === 'global' ? '' : scope.name,
    );
    return hooks.map((h) => this.view(h));
  }

  /** One webhook. */
  async get(actor: Actor, id: number): Promise<WebhookView> {
    return this.view(await this.hook(actor, id));
  }

  /** Changes a webhook (a new `secret` replaces every old one at once; see `rotateSecret`). */
  async update(actor: Actor, id: number, patch: Partial<WebhookInput>): Promise<WebhookView> {
    await this.hook(actor, id);
    await this.check(patch);
    await this.meta.writeTransaction((tx) =>
      tx.webhooks.update(id, {
        url: patch.url,
        format: patch.format,
        events: patch.events,
        filters: patch.filters,
        caCert: patch.caCert,
        description: patch.description,
        enabled: patch.enabled,
        secrets:
          patch.secret === undefined
            ? undefined
            : this.sealing.sealSecrets(id, [{ secret: patch.secret, expiresAt: null }]),
        headers:
          patch.headers === undefined ? undefined : this.sealing.sealHeaders(id, patch.headers),
      }),
    );
    this.dispatch?.notify();
    return this.get(actor, id);
  }

  /**
   * Starts signing with a new secret (given, or made and returned this once) while the current
   * one keeps signing for `overlapSeconds`, so receivers can switch without a gap.
   */
  async rotateSecret(
    actor: Actor,
    id: number,
    options: { secret?: string; overlapSeconds?: number } = {},
  ): Promise<{ webhook: WebhookView; secret: string }> {
    const hook = await this.hook(actor, id);
    if (options.secret !== undefined) await this.check({ secret: options.secret });
    const secret = options.secret ?? newWebhookSecret();
    const now = this.now();
    const until = now + (options.overlapSeconds ?? 86_400) * 1000;
    const kept = this.sealing
      .openSecrets(id, hook.secrets)
      .filter((s) => s.expiresAt === null || s.expiresAt > now)
      .map((s) => ({ secret: s.secret, expiresAt: Math.min(s.expiresAt ?? until, until) }));
    const secrets = [{ secret, expiresAt: null }, ...kept.slice(0, 1)];
    await this.meta.writeTransaction((tx) =>
      tx.webhooks.update(id, { secrets: this.sealing.sealSecrets(id, secrets) }),
    );
    return { webhook: await this.get(actor, id), secret };
  }

  /** Deletes a webhook and its delivery log. */
  async remove(actor: Actor, id: number): Promise<void> {
    await this.hook(actor, id);
    await this.meta.writeTransaction((tx) => tx.webhooks.delete(id));
  }

  /** A webhook's deliveries, newest first. */
  async deliveries(
    actor: Actor,
    id: number,
    options: { state?: DeliveryState; before?: number; limit?: number } = {},
  ): Promise<DeliveryView[]> {
    await this.hook(actor, id);
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    const rows = await this.meta.webhooks.deliveries(id, { ...options, limit });
    return rows.map(deliveryView);
  }

  /** One delivery with its body and every attempt. */
  async delivery(actor: Actor, id: number, deliveryId: number): Promise<DeliveryDetail> {
    await this.hook(actor, id);
    const d = await this.meta.webhooks.delivery(deliveryId);
    if (!d || d.webhookId !== id)
      throw new BerthError('NOT_FOUND', `no delivery ${deliveryId} of webhook ${id}`);
    const attempts = await this.meta.webhooks.attempts(deliveryId);
    return {
      ...deliveryView(d),
      contentType: d.contentType,
      body: d.body,
      log: attempts.map(({ at, deliveryId: _, ...a }) => ({ ...a, at: iso(at) })),
    };
  }

  /** Queues one delivery again, or every dead-lettered one; returns how many. */
  async redeliver(actor: Actor, id: number, deliveryId?: number): Promise<number> {
    await this.hook(actor, id);
    if (deliveryId !== undefined) {
      const d = await this.meta.webhooks.delivery(deliveryId);
      if (!d || d.webhookId !== id)
        throw new BerthError('NOT_FOUND', `no delivery ${deliveryId} of webhook ${id}`);
    }
    const n = await this.meta.writeTransaction((tx) =>
      tx.webhooks.redeliver(id, this.now(), deliveryId),
    );
    this.dispatch?.notify();
    return n;
  }

  /** Sends a test event now (outside the queue) and answers with what the receiver said. */
  async test(actor: Actor, id: number): Promise<AttemptResult> {
    const hook = await this.hook(actor, id);
    if (!this.dispatch)
      throw new BerthError('UNSUPPORTED', 'webhooks are not delivered by this process');
    const now = this.now();
    const repository =
      hook.scopeKind === 'repository'
        ? hook.scope
        : `${hook.scopeKind === 'namespace' ? hook.scope : 'library'}/webhook-test`;
    const payload = payloadOf(hook.format as PayloadFormat, [
      {
        id: 0,
        type: 'manifest.pushed',
        at: now,
        actor: { name: actor.principal.name, address: actor.address },
        target: {
          repository,
          tag: 'test',
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
        },
        outcome: 'success',
      },
    ]);
    const [deliveryId] = await this.meta.writeTransaction((tx) =>
      tx.webhooks.enqueue([
        {
          webhookId: id,
          eventId: null,
          eventType: 'webhook.test',
          createdAt: now,
          contentType: payload.contentType,
          body: payload.body,
          state: 'dead',
        },
      ]),
    );
    const delivery = (await this.meta.webhooks.delivery(deliveryId!))!;
    return this.dispatch.attempt(hook, delivery, false);
  }

  /**
   * Records a Docker Hub callback: the receiver POSTs `{state, description, context,
   * target_url}` to the `callback_url` of a delivery; the token in the URL proves which.
   */
  async callback(
    webhookId: number,
    eventId: number,
    token: string,
    report: { state: 'success' | 'failure' | 'error'; description?: string },
  ): Promise<void> {
    const delivery = this.sealing.isCallbackToken(webhookId, eventId, token)
      ? await this.meta.webhooks.deliveryOfEvent(webhookId, eventId)
      : undefined;
    if (!delivery) throw new BerthError('NOT_FOUND', 'no such delivery');
    const description = report.description?.slice(0, 500) ?? null;
    await this.meta.writeTransaction((tx) =>
      tx.webhooks.setCallback(delivery.id, report.state, description, this.now()),
    );
  }
}

function deliveryView(d: DeliveryRecord): DeliveryView {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    createdAt: iso(d.createdAt),
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    finishedAt: d.finishedAt === null ? null : iso(d.finishedAt),
    callback: d.callback && { ...d.callback, at: iso(d.callback.at) },
  };
}
