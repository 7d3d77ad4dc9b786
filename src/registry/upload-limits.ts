/** What an uploader may hold in unfinished uploads, and bounding a body as it streams. */
import { Readable } from 'node:stream';
import { isReadAlone, readAlone } from '../kit/index.js';
import type { ChangeContext } from './ports.js';

/** What one uploader (an account, or an anonymous address) may hold in unfinished uploads. */
export interface UploadLimits {
  sessions: number;
  bytes: number;
}

/** No bounds (tools and tests that drive the registry directly). */
export const UNLIMITED_UPLOADS: UploadLimits = {
  sessions: Number.MAX_SAFE_INTEGER,
  bytes: Number.MAX_SAFE_INTEGER,
};

/** Yields `body`'s chunks, throwing `refusal(bytes seen)` once more than `allowed` went by. */
async function* within(
  body: Readable,
  allowed: number,
  refusal: (seen: number) => Error,
): AsyncGenerator<Buffer> {
  let seen = 0;
  // Leaving the loop (a refusal, or the reader stopping) destroys `body`; its failure (an
  // aborted request) is thrown here.
  for await (const chunk of body) {
    seen += (chunk as Buffer).length;
    if (seen > allowed) throw refusal(seen);
    yield chunk as Buffer;
  }
}

/**
 * Passes `body` through, failing it with `refusal(bytes seen)` once more than `allowed` bytes
 * went by: an aborted body fails it too, and a refused one is destroyed.
 */
export function bounded(
  body: Readable,
  allowed: number,
  refusal: (seen: number) => Error,
): Readable {
  const passed = Readable.from(within(body, allowed, refusal), { objectMode: false });
  // The same chunks, read by the same one reader.
  return isReadAlone(body) ? readAlone(passed) : passed;
}

/**
 * Who an upload's limits count against: the account making it, else the client's address; null
 * (no limits) for changes made without a context (tools driving the registry directly).
 */
export function uploaderOf(context: ChangeContext | undefined): string | null {
  if (context?.actor) return context.actor;
  return context?.address ? `address:${context.address}` : null;
}
