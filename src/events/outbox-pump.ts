/**
 * Reading the outbox for one consumer: each batch is handled and the consumer's cursor advanced
 * in one write transaction, so every event is handled exactly once, across restarts and replicas
 * (Berth's write transactions are serialised). Woken at once after this process's changes, and
 * on a timer for other processes'.
 */
import type { Meta, OutboxEvent } from '../meta/index.js';
import type { Logger } from '../obs/index.js';
import { CoalescedRunner } from '../kit/index.js';

/** Handles a batch of events inside the transaction that advances the cursor. */
export type OutboxHandler = (tx: Meta, events: OutboxEvent[]) => Promise<void>;

/**
 * Every `intervalMs`, deletes events older than `keepMs` that every consumer has handled; returns
 * a function that stops it.
 */
export function pruneOutbox(
  meta: Meta,
  keepMs: number,
  logger: Logger,
  intervalMs = 3_600_000,
): () => void {
  const timer = setInterval(() => {
    meta
      .writeTransaction((tx) => tx.outbox.prune(Date.now() - keepMs))
      .catch((err: unknown) => logger.error({ err }, 'pruning the outbox'));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Pumps outbox events to one consumer. */
export class OutboxPump {
  private readonly runner: CoalescedRunner;

  constructor(
    private readonly meta: Meta,
    private readonly consumer: string,
    private readonly handle: OutboxHandler,
    logger: Logger,
    private readonly options: {
      /** How long a wake-up waits, so changes close together are handled in one transaction. */
      delayMs?: number;
      batch?: number;
      /** Told after each batch commits. */
      handled?: () => void;
    } = {},
  ) {
    this.runner = new CoalescedRunner(
      () => this.pump(),
      (err) => logger.error({ err, consumer }, 'outbox'),
      options.delayMs ?? 250,
    );
  }

  private get batch(): number {
    return this.options.batch ?? 500;
  }

  /** Polls every `intervalMs` for events other processes wrote. */
  start(intervalMs = 1_000): void {
    this.runner.every(intervalMs);
  }

  /** Handles what is waiting, soon (coalescing calls that come close together or while it runs). */
  notify(): void {
    this.runner.ask();
  }

  /** Resolves once every event written so far is handled (stops the timer when `stop`). */
  async drain(stop = false): Promise<void> {
    if (stop) await this.runner.stop();
    await this.pump();
  }

  private async pump(): Promise<void> {
    // A read first: an idle consumer never takes the write lock (replicas poll every second).
    const seen = await this.meta.outbox.cursor(this.consumer);
    if ((await this.meta.outbox.after(seen, 1)).length === 0) return;
    for (;;) {
      const handled = await this.meta.writeTransaction(async (tx) => {
        const events = await tx.outbox.after(await tx.outbox.cursor(this.consumer), this.batch);
        if (events.length === 0) return 0;
        await this.handle(tx, events);
        await tx.outbox.advance(this.consumer, events[events.length - 1]!.id);
        return events.length;
      });
      if (handled > 0) this.options.handled?.();
      if (handled < this.batch) return;
    }
  }
}
