/**
 * The bytes of small blobs kept in memory: a small blob GET (a config, a signature, a tiny
 * layer) otherwise opens, reads and closes its file each time, which under many clients costs a
 * fifth of the server's time. Content addressed by digest never changes, so a kept copy is never
 * stale; whether the caller may have it is still decided per request before it is served.
 */

/** Blobs at most this large are kept. */
export const SMALL_BLOB_BYTES = 64 * 1024;

/** A least-recently-used set of small blobs' bytes, bounded in total bytes. */
export class SmallBlobBytes {
  private readonly entries = new Map<string, Buffer>();
  private held = 0;

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  /** The bytes of `digest`, when kept (and marks them recently used). */
  get(digest: string): Buffer | undefined {
    const bytes = this.entries.get(digest);
    if (bytes) {
      this.entries.delete(digest);
      this.entries.set(digest, bytes);
    }
    return bytes;
  }

  /** Keeps `bytes` of `digest`, forgetting the least recently used beyond the bound. */
  set(digest: string, bytes: Buffer): void {
    if (bytes.length > SMALL_BLOB_BYTES || this.entries.has(digest)) return;
    this.entries.set(digest, bytes);
    this.held += bytes.length;
    for (const [key, kept] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(key);
      this.held -= kept.length;
    }
  }
}
