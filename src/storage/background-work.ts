/**
 * Work left running after an answer, per key (an upload's background syncs and the closing of
 * its file), that a later step must wait for and whose first error it must see.
 */
export class BackgroundWork {
  private readonly running = new Map<string, Promise<void>>();

  /** Adds `work` under `key`; its error is kept for `settle`, never unhandled. */
  add(key: string, work: Promise<unknown>): void {
    const all = Promise.all([this.running.get(key), work]).then(() => undefined);
    this.running.set(key, all);
    // Done without error: nothing left to report. An error waits for `settle`.
    all.then(
      () => this.forget(key, all),
      () => undefined,
    );
  }

  /** Waits for everything under `key`; rejects with the first error any of it met, then forgets it. */
  async settle(key: string): Promise<void> {
    const all = this.running.get(key);
    if (!all) return;
    try {
      await all;
    } finally {
      this.forget(key, all);
    }
  }

  private forget(key: string, all: Promise<void>): void {
    if (this.running.get(key) === all) this.running.delete(key);
  }
}
