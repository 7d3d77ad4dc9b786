/** A small in-memory cache with a time to live and a bound on entries (oldest evicted first). */
import { rememberBounded } from '../kit/index.js';

/** Caches values for `ttlMs`, holding at most `maxEntries`. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached value, or undefined when absent or expired. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Caches `value` under `key`. */
  set(key: string, value: V): void {
    if (this.ttlMs <= 0) return;
    rememberBounded(
      this.entries,
      key,
      { value, expires: Date.now() + this.ttlMs },
      this.maxEntries,
    );
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key that starts with `prefix`. */
  deletePrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  /** Forgets everything. */
  clear(): void {
    this.entries.clear();
  }
}
