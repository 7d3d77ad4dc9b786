/**
 * The bytes of an S3 part held in memory until the gateway has them, copied into a process-wide
 * pool of 1 MiB buffers instead of kept as the request's own chunks. A request's chunks are
 * buffers of their own outside V8's heap, and V8 counts every such byte allocated since its last
 * full collection against the old generation's limit: parts held for a few hundred ms, tens of
 * MiB at a time, started a full collection every 14 MiB or so (nine for a 128 MiB chunked upload,
 * with their incremental marking 150–250 ms of CPU, measured with `--trace-gc` and
 * `--trace-incremental-marking`). Copied (about 16 ms for 128 MiB), the chunk is finished at once
 * (chunk-release.ts: freed once the hash is done with it too), and the pool's buffers, reused from
 * part to part, add nothing new for V8 to count; they are freed after a few idle seconds.
 */
import { Readable } from 'node:stream';
import { BufferPool, finishChunk } from '../kit/index.js';

/**
 * Buffers kept between parts: what one upload's parts may hold at once (64 MiB of them sent or
 * waiting, and the 16 MiB part being read).
 */
const KEPT_BUFFERS = 80;
/** The pool gives its buffers back after this long without a part. */
const IDLE_MS = 5_000;

/** The process's buffers for S3 parts held in memory. */
export const partBuffers = new BufferPool(1 << 20, KEPT_BUFFERS, IDLE_MS);

/** One part's bytes, in buffers from a pool until `release`. */
export class PooledPart {
  private readonly blocks: Buffer[] = [];
  /** Bytes used in the last block. */
  private used = 0;
  /** Bytes held. */
  length = 0;

  constructor(private readonly pool: BufferPool = partBuffers) {}

  /** Copies `chunk` in and finishes it (chunk-release.ts): the caller must not use it after. */
  add(chunk: Buffer): void {
    const size = chunk.length;
    for (let at = 0; at < size;) {
      if (this.blocks.length === 0 || this.used === this.pool.size) {
        this.blocks.push(this.pool.take());
        this.used = 0;
      }
      const copied = chunk.copy(this.blocks[this.blocks.length - 1]!, this.used, at);
      this.used += copied;
      at += copied;
    }
    this.length += size;
    finishChunk(chunk);
  }

  /** The bytes as a stream of views of the buffers (no copy); valid until `release`. */
  body(): Readable {
    const last = this.blocks.length - 1;
    return Readable.from(this.blocks.map((b, i) => (i === last ? b.subarray(0, this.used) : b)));
  }

  /** Gives the buffers back to the pool; idempotent. Nothing may read the body after. */
  release(): void {
    for (const block of this.blocks.splice(0)) this.pool.give(block);
    this.used = 0;
    this.length = 0;
  }
}
