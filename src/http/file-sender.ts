/**
 * Sending a byte range of a local file on a response with a few reused buffers. A stream would
 * allocate a new buffer per chunk; at a gigabyte a second that garbage costs the collector about
 * an eighth of a core. Each buffer is read into again only once the socket has taken its bytes.
 */
import type { ServerResponse } from 'node:http';
import { open, type FileHandle } from 'node:fs/promises';

const CHUNK = 1 << 20;
const BUFFERS = 4;

/** Opens `file` for `sendFileRange`; undefined when it is gone (so nothing was answered yet). */
export async function openForSending(file: string): Promise<FileHandle | undefined> {
  try {
    return await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes bytes `start`..`end` (inclusive) of the open `handle` to `res`, ends it and closes the
 * handle; returns bytes sent.
 */
export async function sendFileRange(
  res: ServerResponse,
  handle: FileHandle,
  start: number,
  end: number,
): Promise<number> {
  const file = 'the blob file';
  // Buffers are made as they are needed, no larger than what is sent: a small blob takes one
  // buffer of its own size (four 1 MiB buffers per request made small blobs slow to serve).
  const size = Math.min(CHUNK, end - start + 1);
  const free: Buffer[] = [];
  let made = 0;
  let wake: (() => void) | undefined;
  const release = (buffer: Buffer) => () => {
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
      if (free.length === 0 && made < BUFFERS) {
        free.push(Buffer.allocUnsafeSlow(size));
        made += 1;
      }
      if (free.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const buffer = free.pop()!;
      const want = Math.min(CHUNK, end - position + 1);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead === 0) throw new Error(`${file} ended at ${position}, before byte ${end}`);
      position += bytesRead;
      res.write(buffer.subarray(0, bytesRead), release(buffer));
    }
    if (!closed) res.end();
    return position - start;
  } finally {
    await handle.close();
  }
}
