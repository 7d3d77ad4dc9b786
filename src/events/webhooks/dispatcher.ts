/**
 * Delivering queued webhook deliveries: at least once, one at a time and in order per webhook
 * (a lease in the database makes one process, of all replicas, the sender for a webhook at a
 * time), retried with jittered backoff within the retry window, given up (dead letter) after it
 * or after the configured attempts, and a circuit breaker that rests endpoints that keep failing.
 * Every attempt is logged with what was sent and what came back.
 */
import type { DeliveryOutcome, DeliveryRecord, Meta, WebhookRecord } from '../../meta/index.js';
import type { Logger } from '../../obs/index.js';
import { CoalescedRunner } from '../../kit/index.js';
import { destinationProblem, type DestinationRules } from './destination.js';
import { afterDelivery, nextAttemptAt, type RetryPolicy } from './retry.js';
import type { WebhookSealing } from './sealing.js';
import { sendDelivery, type DeliveryResponse } from './sender.js';
import { signatureHeaders } from './signature.js';

/** How deliveries are made. */
export interface DispatchSettings {
  retry: RetryPolicy;
  /** Attempts before a delivery is dead-lettered (besides the retry window). */
  maxAttempts: number;
  rules: DestinationRules;
  timeoutMs: number;
  /** Webhooks served at once by this process. */
  concurrency: number;
  circuit: { threshold: number; openMs: number };
  /** This process's name in leases (unique among replicas). */
  holder: string;
  userAgent: string;
  /** Finished deliveries are kept this long, ms. */
  keepMs: number;
}

/** The outcome of one attempt, for metrics. */
export type AttemptOutcome = 'success' | 'failure' | 'dead';

/** The attempt just made, as the delivery log and the API show it. */
export interface AttemptResult extends DeliveryResponse {
  deliveryId: number;
  state: DeliveryOutcome['state'];
}

const is2xx = (status: number | null): boolean => status !== null && status >= 200 && status < 300;

/** Sends what the queue holds, woken by `notify` and by a timer. */
export class WebhookDispatcher {
  private readonly serving = new Map<number, Promise<void>>();
  private readonly runner: CoalescedRunner;
  private stopped = false;
  private lastPrune = 0;

  constructor(
    private readonly meta: Meta,
    private readonly sealing: WebhookSealing,
    private readonly settings: DispatchSettings,
    private readonly logger: Logger,
    private readonly observe: (outcome: AttemptOutcome) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.runner = new CoalescedRunner(
      () => this.tick(),
      (err) => this.logger.error({ err }, 'webhook dispatch'),
    );
  }

  /** Looks for due deliveries every `pollMs` (retries, and other replicas' events). */
  start(pollMs = 1_000): void {
    this.runner.every(pollMs);
  }

  /** Looks for due deliveries soon. */
  notify(): void {
    this.runner.ask();
  }

  /** Stops looking and waits for the attempts under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.runner.stop();
    await Promise.all(this.serving.values());
  }

  private async tick(): Promise<void> {
    const now = this.now();
    const due = await this.meta.webhooks.due(now, this.settings.concurrency * 4);
    for (const delivery of due) {
      if (this.serving.size >= this.settings.concurrency) break;
      const id = delivery.webhookId;
      if (this.serving.has(id)) continue;
      const work = this.serve(id)
        .catch((err: unknown) => this.logger.error({ err, webhook: id }, 'webhook delivery'))
        .finally(() => {
          this.serving.delete(id);
          this.notify();
        });
      this.serving.set(id, work);
    }
    if (now - this.lastPrune > 3_600_000) {
      this.lastPrune = now;
      await this.meta.writeTransaction((tx) => tx.webhooks.prune(now - this.settings.keepMs));
    }
  }

  /** Sends webhook `id`'s due deliveries in order while this process holds its lease. */
  private async serve(id: number): Promise<void> {
    const lease = `webhook:${id}`;
    const { holder, timeoutMs } = this.settings;
    try {
      for (let sent = 0; sent < 100 && !this.stopped; sent++) {
        const held = await this.meta.writeTransaction((tx) =>
          tx.leases.acquire(lease, holder, timeoutMs * 2 + 30_000, this.now()),
        );
        if (!held) return;
        const hook = await this.meta.webhooks.byId(id);
        const now = this.now();
        if (!hook?.enabled || hook.circuitOpenUntil > now) return;
        const head = await this.meta.webhooks.head(id);
        if (!head || head.nextAttemptAt > now) return;
        await this.attempt(hook, head);
      }
    } finally {
      await this.meta.writeTransaction((tx) => tx.leases.release(lease, holder));
    }
  }

  /** The headers of an attempt at `delivery` now: signatures by every active secret, custom ones. */
  private headersOf(hook: WebhookRecord, delivery: DeliveryRecord, now: number) {
    const custom = this.sealing.openHeaders(hook.id, hook.headers);
    const secrets = this.sealing.activeSecrets(hook.id, hook.secrets, now);
    const id = `msg_${delivery.id}`;
    const timestamp = Math.floor(now / 1000);
    const headers: Record<string, string> = {
      ...custom,
      'content-type': delivery.contentType,
      'user-agent': this.settings.userAgent,
      'x-berth-event': delivery.eventType,
      ...(secrets.length > 0
        ? signatureHeaders(secrets, id, timestamp, delivery.body)
        : { 'webhook-id': id, 'webhook-timestamp': String(timestamp) }),
    };
    // Custom headers may carry credentials: the log shows their names only.
    const logged = { ...headers };
    for (const name of Object.keys(custom)) logged[name] = '[redacted]';
    return { headers, logged };
  }

  /** Sends `delivery` once and records the attempt and how the delivery stands after it. */
  async attempt(
    hook: WebhookRecord,
    delivery: DeliveryRecord,
    retry = true,
  ): Promise<AttemptResult> {
    const started = this.now();
    const { headers, logged } = this.headersOf(hook, delivery, started);
    const problem = await destinationProblem(hook.url, this.settings.rules);
    const response: DeliveryResponse = problem
      ? { status: null, headers: null, body: null, latencyMs: 0, error: problem }
      : await sendDelivery(
          {
            url: hook.url,
            headers,
            body: delivery.body,
            caCert: hook.caCert,
            timeoutMs: this.settings.timeoutMs,
          },
          this.settings.rules,
        );
    const now = this.now();
    const outcome = this.outcomeOf(delivery, response, now, retry);
    const { threshold, openMs } = this.settings.circuit;
    const circuit = afterDelivery(
      { failures: hook.circuitFailures, openUntil: hook.circuitOpenUntil },
      is2xx(response.status),
      now,
      threshold,
      openMs,
    );
    await this.meta.writeTransaction(async (tx) => {
      await tx.webhooks.recordAttempt(
        {
          deliveryId: delivery.id,
          at: started,
          requestHeaders: logged,
          status: response.status,
          responseHeaders: response.headers,
          responseBody: response.body,
          latencyMs: response.latencyMs,
          error: response.error,
        },
        outcome,
      );
      if (retry) await tx.webhooks.setCircuit(hook.id, circuit.failures, circuit.openUntil);
    });
    this.observe(
      outcome.state === 'succeeded' ? 'success' : outcome.state === 'dead' ? 'dead' : 'failure',
    );
    return { ...response, deliveryId: delivery.id, state: outcome.state };
  }

  private outcomeOf(
    delivery: DeliveryRecord,
    response: DeliveryResponse,
    now: number,
    retry: boolean,
  ): DeliveryOutcome {
    const attempts = delivery.attempts + 1;
    const last = { attempts, lastStatus: response.status, lastError: response.error };
    if (is2xx(response.status))
      return { ...last, state: 'succeeded', nextAttemptAt: now, finishedAt: now };
    const next =
      retry && attempts < this.settings.maxAttempts
        ? nextAttemptAt(this.settings.retry, attempts, delivery.windowStart, now)
        : undefined;
    if (next === undefined) return { ...last, state: 'dead', nextAttemptAt: now, finishedAt: now };
    return { ...last, state: 'pending', nextAttemptAt: next, finishedAt: null };
  }
}
