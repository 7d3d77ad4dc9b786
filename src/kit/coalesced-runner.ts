/**
 * Running a piece of background work soon after being asked, never twice at once: asks that come
 * while it is scheduled join that run, asks that come while it runs make one more run after it.
 * An interval timer asks too, for work other processes made.
 */
export class CoalescedRunner {
  private running: Promise<void> | undefined;
  private scheduled: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
    /** How long an ask waits, so asks close together make one run. */
    private readonly delayMs = 0,
  ) {}

  /** Asks every `intervalMs` as well (the timer does not keep the process alive). */
  every(intervalMs: number): void {
    this.timer ??= setInterval(() => this.ask(), intervalMs);
    this.timer.unref();
    this.ask();
  }

  /** Runs the work soon (once for all asks close together or while it runs). */
  ask(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.running = this.work()
        .catch(this.onError)
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.ask();
          }
        });
    }, this.delayMs);
  }

  /** Stops asking and waits for a run under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.scheduled) clearTimeout(this.scheduled);
    this.scheduled = undefined;
    await this.running;
  }
}
