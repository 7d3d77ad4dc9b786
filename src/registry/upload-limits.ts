/** What an uploader may hold in unfinished uploads, and bounding a body as it streams. */
import { pipeline, Transform, type Readable } from 'node:stream';
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

/** Passes `body` through, failing it with `refusal(bytes seen)` once more than `allowed` bytes went by. */
export function bounded(
  body: Readable,
  allowed: number,
  refusal: (seen: number) => Error,
): Readable {
  let seen = 0;
  // pipeline: an aborted body fails the limiter too, and a refused one is destroyed.
  return pipeline(
    body,
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        if (seen > allowed) done(refusal(seen));
        else done(null, chunk);
      },
    }),
    () => undefined,
  );
}

/**
 * Who an upload's limits count against: the account making it, else the client's address; null
 * (no limits) for changes made without a context (tools driving the registry directly).
 */
export function uploaderOf(context: ChangeContext | undefined): string | null {
  if (context?.actor) return context.actor;
  return context?.address ? `address:${context.address}` : null;
}
