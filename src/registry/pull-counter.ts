/** Counting pulls in memory and writing them in batches, off the manifest-GET hot path. */
import type { Meta, PullCounts } from '../meta/index.js';

/** Counts manifest pulls per repository (and last pull per tag), flushing every few seconds. */
export class PullCounter {
  private pending = new Map<string, PullCounts>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly meta: Meta,
    private readonly intervalMs = 5_000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Records one pull of `repository` (by `tag` when pulled by tag). */
  count(repository: string, tag?: string): void {
    const now = Date.now();
    const repo = this.pending.get(repository);
    if (repo) {
      repo.count += 1;
      repo.at = now;
    } else this.pending.set(repository, { repository, count: 1, at: now });
    if (tag !== undefined)
      this.pending.set(`${repository}:${tag}`, { repository, tag, count: 1, at: now });
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes what was counted; resolves when written. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing
      .then(() => this.meta.writeTransaction((m) => m.catalog.recordPulls(batch)))
      .catch(this.onError);
    return this.flushing;
  }
}
