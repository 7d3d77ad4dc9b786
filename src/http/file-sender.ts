/**
 * Sending a byte range of a local file on a response through buffers from a shared pool. A stream
 * would allocate a new buffer per chunk; at a gigabyte a second that garbage costs the collector
 * about an eighth of a core. Each buffer is read into again only once the socket has taken its
 * bytes. Bytes not in the page cache are read around it the first time (file-reads.ts); cached
 * bytes go to a plain connection without passing through the process at all (zero-copy.ts).
 */
import type { ServerResponse } from 'node:http';
import { open, type FileHandle } from 'node:fs/promises';
import { type BufferPool, directIoBuffers } from '../kit/index.js';
import { sendBuffers } from './send-buffers.js';
import { type ColdFiles, FileReads } from './file-reads.js';
import { zeroCopyTo } from './zero-copy.js';

/** Buffers one response holds at most: one being read into while others are being sent. */
const BUFFERS_PER_RESPONSE = 2;

/**
 * Responses reading cold bytes into aligned buffers now. While there are several, each holds one
 * such buffer at a time: between them they keep the disk and the sockets busy, and five layers
 * pulled at once held 10 MiB instead of 5. A lone one reads its next megabyte while the socket
 * sends the last.
 */
let coldSenders = 0;

/** Cached bytes one zero-copy send asks for at most (each range is checked as cached first). */
const ZERO_COPY_STEP = 4 << 20;

/** The small write through Node that waits for a full socket to drain between zero-copy sends. */
const DRAIN_PROBE_BYTES = 16 << 10;

/** The error of a blob file shorter than its record says. */
function endedEarly(position: number, end: number): Error {
  return new Error(`the blob file ended at ${position}, before byte ${end}`);
}

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
  /** Where aligned buffers for bytes read around the page cache come from (1 MiB each). */
  coldPool?: BufferPool;
  /** The files read around the cache lately (default: the process's). */
  cold?: ColdFiles;
  /** The path `handle` was opened from; without it every read goes through the page cache. */
  file?: string;
  /** Send cached bytes to a plain connection with sendfile(2) (default; where the addon is built). */
  zeroCopy?: boolean;
}

/**
 * Writes bytes `start`..`end` (inclusive) of the open `handle` to `res`, ends it and closes the
 * handle; returns bytes sent. Buffers come from `pool` and go back to it as the socket takes
 * them, also when the response is closed early. After the first buffer (which carries the
 * headers), bytes the page cache holds go to a plain connection zero-copy (zero-copy.ts) unless
 * `zeroCopy` is false: each send fills the socket, then one small buffer written through Node
 * waits for it to drain.
 */
export async function sendFileRange(
  res: ServerResponse,
  handle: FileHandle,
  start: number,
  end: number,
  { pool = sendBuffers, coldPool = directIoBuffers, file, cold, zeroCopy = true }: SendOptions = {},
): Promise<number> {
  const reads = new FileReads(handle, file, cold);
  let direct = zeroCopy ? zeroCopyTo(res) : undefined;
  let readsCold = false;
  // Buffers written and not yet taken by the socket. Each goes back to its pool once the socket
  // says it has taken its bytes; one whose write never reports back is simply dropped.
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const release = (from: BufferPool, buffer: Buffer) => () => {
    inFlight -= 1;
    from.give(buffer);
    wake?.();
  };
  const written = async (): Promise<void> => {
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  };
  let closed = false;
  res.once('close', () => {
    closed = true;
    wake?.();
  });
  let position = start;
  try {
    while (position <= end && !closed) {
      let want: number | undefined; // the buffer's size unless set
      if (direct && position > start) {
        const step = Math.min(ZERO_COPY_STEP, end - position + 1);
        if (reads.holdsCached(step, position)) {
          // File bytes may follow only what the socket has already taken.
          if (inFlight > 0) {
            await written();
            continue;
          }
          const sent = direct.drained() ? direct.send(handle.fd, position, step) : 'full';
          if (sent === 'ended') throw endedEarly(position, end);
          if (sent === 'closed') {
            closed = true;
            continue;
          }
          if (sent === 'failed') direct = undefined;
          else {
            if (typeof sent === 'number') position += sent;
            if (sent === step || position > end) continue;
            // The socket is full (or still holds bytes written through Node): one small write
            // through Node waits for it to drain.
            want = DRAIN_PROBE_BYTES;
          }
        }
      }
      if (inFlight >= BUFFERS_PER_RESPONSE) {
        await written();
        continue;
      }
      const rest = end - position + 1;
      const around =
        want === undefined && (await reads.goesAround(Math.min(coldPool.size, rest), position));
      if (around && inFlight > 0 && coldSenders > (readsCold ? 1 : 0)) {
        await written();
        continue;
      }
      if (around && !readsCold) {
        readsCold = true;
        coldSenders += 1;
      }
      const from = around ? coldPool : pool;
      const buffer = from.take();
      let bytes: Buffer;
      try {
        bytes = await reads.read(buffer, Math.min(want ?? from.size, rest), position, around);
        if (bytes.byteLength === 0) throw endedEarly(position, end);
      } catch (err) {
        from.give(buffer);
        throw err;
      }
      position += bytes.byteLength;
      inFlight += 1;
      res.write(bytes, release(from, buffer));
    }
    if (!closed) res.end();
    return position - start;
  } finally {
    if (readsCold) coldSenders -= 1;
    await Promise.all([reads.close(), handle.close()]);
  }
}
