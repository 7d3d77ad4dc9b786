/**
 * Runs retention on its own: every poll, each enabled policy with a schedule whose time has come
 * is claimed in the database (so one replica runs it) and run; then the trash is emptied of what
 * is past its restore window.
 */
import type { Meta } from '../meta/index.js';
import type { Logger } from '../obs/index.js';
import type { RetentionEngine } from './engine.js';

const HOUR_MS = 3_600_000;

/** Polls for due retention work. */
export class RetentionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly meta: Meta,
    private readonly engine: RetentionEngine,
    private readonly logger: Logger,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Looks for due work every `pollMs`. */
  start(pollMs = 60_000): void {
    this.timer = setInterval(() => void this.tick(), pollMs);
    this.timer.unref();
  }

  /** Stops polling and waits for the work in hand. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs what is due now (one pass at a time); resolves when it is done. */
  tick(): Promise<void> {
    this.running ??= this.work()
      .catch((err: unknown) => this.logger.error({ err }, 'retention'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async work(): Promise<void> {
    const now = this.now();
    for (const policy of await this.meta.retention.policies()) {
      if (!policy.enabled || policy.everyHours === null) continue;
      if (now - policy.lastRunAt < policy.everyHours * HOUR_MS) continue;
      const claimed = await this.meta.writeTransaction((m) =>
        m.retention.claimScheduled(policy.id, policy.lastRunAt, now),
      );
      if (!claimed) continue;
      await this.engine
        .run(policy, { dryRun: false, trigger: 'schedule' })
        .catch((err: unknown) =>
          this.logger.warn({ err, policy: policy.id }, 'retention run failed'),
        );
    }
    await this.engine.purge();
  }
}
