/**
 * A pool of equal buffers, shared by a process's requests: a buffer is taken for one read or write
 * and given back once nothing uses it; up to `keep` free buffers are kept for the next taker
 * (their pages already touched), past that a returned buffer is dropped. Buffers start on a 4 KiB
 * boundary where the direct I/O addon allows (aligned-buffer.ts), so files opened with `O_DIRECT`
 * can be read into and written from them. A returned buffer that is not kept is freed at once
 * (kit/free-now.ts): a burst that made many would otherwise hold them until V8 next collects.
 */
import { alignedBuffer } from './aligned-buffer.js';
import { freeNow } from './free-now.js';

/** A pool of equal buffers. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  /** The buffers this pool made and has not freed: only those may be freed. */
  private readonly own = new WeakSet<Buffer>();
  private made = 0;
  private lastTaken = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  /**
   * With `idleMs`, the kept buffers are freed once none has been taken for that long (a pool
   * sized for a burst gives its memory back after it).
   */
  constructor(
    readonly size: number,
    private readonly keep: number,
    private readonly idleMs?: number,
  ) {}

  /** A buffer of `size` bytes (contents undefined): a kept one, or a new one. */
  take(): Buffer {
    this.lastTaken = performance.now();
    // A buffer given back twice by mistake may have been freed the second time: never hand it out.
    for (let kept = this.free.pop(); kept; kept = this.free.pop()) {
      if (kept.byteLength === this.size) return kept;
    }
    this.made += 1;
    const made = alignedBuffer(this.size) ?? Buffer.allocUnsafeSlow(this.size);
    this.own.add(made);
    return made;
  }

  /**
   * Gives `buffer` back; it must not be used after. Kept for reuse while fewer than `keep` are;
   * else freed, if this pool made it.
   */
  give(buffer: Buffer): void {
    if (!this.own.has(buffer)) return;
    if (this.free.length < this.keep) {
      this.free.push(buffer);
      this.watchIdle();
      return;
    }
    this.own.delete(buffer);
    freeNow(buffer.buffer as ArrayBuffer);
  }

  /** Frees every kept buffer now. */
  releaseKept(): void {
    for (let kept = this.free.pop(); kept; kept = this.free.pop()) {
      // A buffer given back twice by mistake is listed twice: freed once.
      if (this.own.delete(kept)) freeNow(kept.buffer as ArrayBuffer);
    }
  }

  /** Frees the kept buffers once the pool has been idle for `idleMs` (checked by a timer). */
  private watchIdle(): void {
    const idleMs = this.idleMs;
    if (idleMs === undefined || this.idleTimer) return;
    const check = (): void => {
      const idleFor = performance.now() - this.lastTaken;
      if (idleFor >= idleMs) {
        this.idleTimer = undefined;
        this.releaseKept();
      } else this.idleTimer = setTimeout(check, idleMs - idleFor).unref();
    };
    this.idleTimer = setTimeout(check, idleMs).unref();
  }

  /** Buffers kept for reuse now, and buffers made so far. */
  counts(): { kept: number; made: number } {
    return { kept: this.free.length, made: this.made };
  }
}

/**
 * The process's 1 MiB aligned buffers for I/O around the page cache: the staging buffers of
 * direct upload writes (storage/direct-file-sink.ts) and the buffers cold blob bytes are read
 * into for a download (http/file-sender.ts); four kept between uses. One large direct request
 * costs a virtual machine's disk far less than four of 256 KiB.
 */
export const directIoBuffers = new BufferPool(1 << 20, 4);
