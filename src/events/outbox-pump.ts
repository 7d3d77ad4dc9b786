/**
 * Reading the outbox for a process's consumers (the audit log, webhooks, replication, builds):
 * each batch is handled and the consumers' cursors advanced in one write transaction, so every
 * event is handled exactly once by each consumer, across restarts and replicas (Berth's write
 * transactions are serialised). The consumers share the transaction — one write lock, one read of
 * the events, one statement advancing every cursor — as they share the wake-ups: at once after
 * this process's changes, and on a timer for other processes'. A consumer whose handler fails
 * rolls that transaction back; each consumer then runs in a transaction of its own, so it holds
 * no other back.
 */
import type { Meta, OutboxEvent } from '../meta/index.js';
import type { Logger } from '../obs/index.js';
import { CoalescedRunner } from '../kit/index.js';

/** Handles a batch of events inside the transaction that advances the cursor. */
export type OutboxHandler = (tx: Meta, events: OutboxEvent[]) => Promise<void>;

/** One consumer of the outbox. */
export interface OutboxConsumer {
  /** Its cursor's name. */
  name: string;
  handle: OutboxHandler;
  /** Told, after a transaction that handled some of its events commits, which those were. */
  handled?: (events: OutboxEvent[]) => void;
}

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

/** Pumps outbox events to the consumers added to it. */
export class OutboxPump {
  private readonly runner: CoalescedRunner;
  private readonly consumers: OutboxConsumer[] = [];
  /** Each consumer's cursor as last read or advanced here: what the wake-up's first read checks. */
  private readonly known = new Map<string, number>();

  constructor(
    private readonly meta: Meta,
    private readonly logger: Logger,
    private readonly options: {
      /** How long a wake-up waits, so changes close together are handled in one transaction. */
      delayMs?: number;
      batch?: number;
    } = {},
  ) {
    this.runner = new CoalescedRunner(
      () => this.pump(),
      (err) => logger.error({ err }, 'outbox'),
      options.delayMs ?? 250,
    );
  }

  private get batch(): number {
    return this.options.batch ?? 500;
  }

  /** Adds a consumer; it is handed every event after its cursor from the next wake-up on. */
  add(consumer: OutboxConsumer): void {
    this.consumers.push(consumer);
    this.notify();
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
    const consumers = [...this.consumers];
    if (consumers.length === 0) return;
    // A read first: an idle process never takes the write lock (replicas poll every second).
    const behind = Math.min(...consumers.map((c) => this.known.get(c.name) ?? 0));
    if ((await this.meta.outbox.latest()) <= behind) return;
    for (;;) {
      let read: number;
      try {
        read = await this.pumpTogether(consumers);
      } catch (err) {
        this.logger.warn({ err }, 'outbox: a consumer failed; running each alone');
        for (const consumer of consumers) await this.pumpAlone(consumer);
        return;
      }
      if (read < this.batch) return;
    }
  }

  /** One batch for every consumer in one transaction; returns how many events it read. */
  private async pumpTogether(consumers: OutboxConsumer[]): Promise<number> {
    const names = consumers.map((c) => c.name);
    const { read, cursors, advanced } = await this.meta.writeTransaction(async (tx) => {
      const cursors = await tx.outbox.cursors(names);
      const events = await tx.outbox.after(Math.min(...cursors.values()), this.batch);
      const advanced = new Map<string, OutboxEvent[]>();
      for (const consumer of consumers) {
        const cursor = cursors.get(consumer.name)!;
        const mine = events.filter((e) => e.id > cursor);
        if (mine.length === 0) continue;
        await consumer.handle(tx, mine);
        advanced.set(consumer.name, mine);
      }
      await tx.outbox.advanceEach(
        new Map([...advanced].map(([name, mine]) => [name, mine[mine.length - 1]!.id])),
      );
      return { read: events.length, cursors, advanced };
    });
    for (const consumer of consumers) {
      const mine = advanced.get(consumer.name);
      this.known.set(consumer.name, mine ? mine[mine.length - 1]!.id : cursors.get(consumer.name)!);
      if (mine) consumer.handled?.(mine);
    }
    return read;
  }

  /** Every batch waiting for one consumer, each in a transaction of its own; logs a failure. */
  private async pumpAlone(consumer: OutboxConsumer): Promise<void> {
    try {
      while ((await this.pumpTogether([consumer])) >= this.batch);
    } catch (err) {
      this.logger.error({ err, consumer: consumer.name }, 'outbox');
    }
  }
}
