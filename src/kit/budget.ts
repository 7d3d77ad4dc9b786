/**
 * A shared allowance of some amount (bytes held in memory, requests in flight): `take` waits, in
 * the order callers asked, until the amount fits; `give` returns it. A single take larger than the
 * whole allowance is let through once nothing else is held, so it can never wait forever.
 */
export class Budget {
  private held = 0;
  private readonly waiting: { amount: number; admit: () => void }[] = [];

  constructor(readonly capacity: number) {}

  /** What is taken and not yet given back. */
  get inUse(): number {
    return this.held;
  }

  /** Waits until `amount` fits (after everyone who asked before), then holds it. */
  take(amount: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(amount)) {
      this.held += amount;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ amount, admit: resolve }));
  }

  /** Returns `amount` taken earlier, admitting whoever now fits. */
  give(amount: number): void {
    this.held -= amount;
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.amount)) {
      const next = this.waiting.shift()!;
      this.held += next.amount;
      next.admit();
    }
  }

  /** Runs `work` holding `amount`, given back however it ends. */
  async with<T>(amount: number, work: () => Promise<T>): Promise<T> {
    await this.take(amount);
    try {
      return await work();
    } finally {
      this.give(amount);
    }
  }

  private fits(amount: number): boolean {
    return this.held + amount <= this.capacity || this.held === 0;
  }
}
