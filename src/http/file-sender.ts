/**
 * Sending a byte range of a local file on a response through buffers from a shared pool. A stream
 * would allocate a new buffer per chunk; at a gigabyte a second that garbage costs the collector
 * about an eighth of a core. Each buffer is read into again only once the socket has taken its
 * bytes. Bytes not in the page cache are read around it the first time (file-reads.ts).
 */
import type { ServerResponse } from 'node:http';
import { open, type FileHandle } from 'node:fs/promises';
import type { BufferPool } from '../kit/index.js';
import { sendBuffers } from './send-buffers.js';
import { type ColdFiles, FileReads } from './file-reads.js';

/** Buffers one response holds at most: one being read into while others are being sent. */
const BUFFERS_PER_RESPONSE = 2;

/** Opens `file` for `sendFileRange`; undefined when it is gone (so nothing was answered yet). */
export async function openForSending(file: string): Promise<FileHandle | undefined> {
  try {
    return await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Where a sender's buffers come from, and the file's path (for reads around the page cache). */
export interface SendOptions {
  pool?: BufferPool;
  /** The files read around the cache lately (default: the process's). */
  cold?: ColdFiles;
  /** The path `handle` was opened from; without it every read goes through the page cache. */
  file?: string;
}

/**
 * Writes bytes `start`..`end` (inclusive) of the open `handle` to `res`, ends it and closes the
 * handle; returns bytes sent. Buffers come from `pool` and go back to it as the socket takes
 * them, also when the response is closed early.
 */
export async function sendFileRange(
  res: ServerResponse,
  handle: FileHandle,
  start: number,
  end: number,
  { pool = sendBuffers, file, cold }: SendOptions = {},
): Promise<number> {
  const reads = new FileReads(handle, file, cold);
  const free: Buffer[] = [];
  let held = 0;
  let wake: (() => void) | undefined;
  let finished = false;
  // A buffer is read into again (or goes back to the pool once this is done) only when the
  // socket says it has taken its bytes; one whose write never reports back is simply dropped.
  const release = (buffer: Buffer) => () => {
    if (finished) return pool.give(buffer);
    free.push(buffer);
    wake?.();
  };
  let closed = false;
  res.once('close', () => {
    closed = true;
    wake?.();
  });
  let position = start;
  try {
    while (position <= end && !closed) {
      if (free.length === 0 && held < BUFFERS_PER_RESPONSE) {
        free.push(pool.take());
        held += 1;
      }
      if (free.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const buffer = free.pop()!;
      const want = Math.min(pool.size, end - position + 1);
      const bytes = await reads.read(buffer, want, position);
      if (bytes.byteLength === 0)
        throw new Error(`the blob file ended at ${position}, before byte ${end}`);
      position += bytes.byteLength;
      res.write(bytes, release(buffer));
    }
    if (!closed) res.end();
    return position - start;
  } finally {
    finished = true;
    free.splice(0).forEach((buffer) => pool.give(buffer));
    await Promise.all([reads.close(), handle.close()]);
  }
}
