/** In-process mutual exclusion per key (an upload id, a tag), so one request at a time works on it. */

/** Runs tasks one at a time per key, in arrival order. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `task` once every earlier task for `key` has settled. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(task, task);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** True when no task for `key` is running or waiting. */
  idle(key: string): boolean {
    return !this.tails.has(key);
  }
}
