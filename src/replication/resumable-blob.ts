/**
 * A blob read from an upstream that survives a broken transfer: when the connection drops part
 * way, the rest is asked for again from the byte reached (an HTTP Range request), a few times,
 * and the stream goes on as if nothing happened. An optional bandwidth limit paces it.
 */
import { Readable } from 'node:stream';
import type { RegistryClient } from '../client/index.js';

/** Resumes at most this many times per blob. */
const RESUMES = 5;

/**
 * The bytes of blob `digest` of `repository` from the upstream (through `use`, which picks a
 * reachable URL), and its size once the first answer says it.
 */
export async function resumableBlob(
  use: <T>(work: (client: RegistryClient) => Promise<T>) => Promise<T>,
  repository: string,
  digest: string,
  bytesPerSecond: number | null,
): Promise<{ size: number; body: Readable; resumes: () => number }> {
  let offset = 0;
  let resumed = 0;
  const first = await use((c) => c.blobFrom(repository, digest, 0));
  if (first.size === undefined) throw new Error(`the upstream did not say how large ${digest} is`);
  const size = first.size;
  const started = Date.now();
  async function* bytes(): AsyncGenerator<Buffer> {
    let body: Readable = first.body;
    for (;;) {
      try {
        for await (const chunk of body) {
          const buf = chunk as Buffer;
          offset += buf.length;
          yield buf;
          if (bytesPerSecond) {
            const due = started + (offset / bytesPerSecond) * 1000;
            const wait = due - Date.now();
            if (wait > 5) await new Promise((r) => setTimeout(r, wait));
          }
        }
        if (offset >= size) return;
        throw new Error(`the upstream ended ${digest} at ${offset} of ${size} bytes`);
      } catch (err) {
        if (offset >= size || resumed >= RESUMES) throw err;
        resumed += 1;
        await new Promise((r) => setTimeout(r, 200 * resumed));
        body = (await use((c) => c.blobFrom(repository, digest, offset))).body;
      }
    }
  }
  return { size, body: Readable.from(bytes(), { objectMode: false }), resumes: () => resumed };
}
