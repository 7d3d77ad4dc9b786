/**
 * Reading the start of a stream to decide what to do with it: up to a limit, after which the
 * stream can still be read whole (the bytes read first, then the rest, with backpressure).
 */
import { Readable } from 'node:stream';

/** The first bytes of a stream (see `readHead`). */
export interface StreamHead {
  /** The chunks read, in order. */
  readonly chunks: Buffer[];
  /** Their total length. */
  readonly size: number;
  /** True when the stream ended within the limit: `chunks` are all of it. */
  readonly ended: boolean;
  /** The whole stream again: `chunks`, then what was not read yet; call it once. */
  whole(): Readable;
}

/** Yields `chunks`, then the rest of `rest`; ending early (a destroyed reader) ends `rest`. */
async function* replay(chunks: Buffer[], rest: AsyncIterator<unknown>): AsyncGenerator<Buffer> {
  try {
    yield* chunks;
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  } finally {
    await rest.return?.();
  }
}

/** `source` with `chunks` before it; destroying the result destroys `source`. */
export function prepended(chunks: Buffer[], source: Readable): Readable {
  return Readable.from(replay(chunks, source[Symbol.asyncIterator]()), { objectMode: false });
}

/**
 * Reads `source` until it ends or more than `limit` bytes have come (one chunk past it, at
 * most). A stream error is thrown as it is.
 */
export async function readHead(source: Readable, limit: number): Promise<StreamHead> {
  const iterator = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done)
      return {
        chunks,
        size,
        ended: true,
        whole: () => Readable.from(chunks, { objectMode: false }),
      };
    const chunk = next.value as Buffer;
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit)
      return {
        chunks,
        size,
        ended: false,
        whole: () => Readable.from(replay(chunks, iterator), { objectMode: false }),
      };
  }
}
