/**
 * A download that survives a broken transfer: when the connection drops before `total` bytes,
 * the rest is asked for again from the byte reached (through `reopen`, an HTTP Range request), a
 * few times, and the stream goes on as if nothing happened. It can also be paced to a bandwidth.
 */
import { Readable } from 'node:stream';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How a download resumes. */
export interface ResumeOptions {
  /** Names the download in the error when it ends short. */
  what: string;
  /** Resumes allowed (default 4). */
  resumes?: number;
  /** Bytes a second at most (no limit when absent). */
  bytesPerSecond?: number | null;
}

/**
 * The bytes of `first`, then of `reopen(offset)` each time a transfer breaks before `total`
 * (without a known total, a break is the end of it).
 */
export function resumingStream(
  first: Readable,
  total: number | undefined,
  reopen: (offset: number) => Promise<Readable>,
  options: ResumeOptions,
): Readable {
  const limit = options.resumes ?? 4;
  const started = Date.now();
  async function* bytes(): AsyncGenerator<Buffer> {
    let body = first;
    let offset = 0;
    for (let resumes = 0; ;) {
      try {
        for await (const chunk of body) {
          offset += (chunk as Buffer).length;
          yield chunk as Buffer;
          if (options.bytesPerSecond) {
            const wait = started + (offset / options.bytesPerSecond) * 1000 - Date.now();
            if (wait > 5) await sleep(wait);
          }
        }
        if (total === undefined || offset >= total) return;
        throw new Error(`${options.what} ended at ${offset} of ${total} bytes`);
      } catch (err) {
        if (total === undefined || offset >= total || resumes >= limit) throw err;
        resumes += 1;
        await sleep(200 * resumes);
        body = await reopen(offset);
      }
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
