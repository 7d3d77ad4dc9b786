/** Small stream pieces the image tools share. */
import { Transform } from 'node:stream';
import type { Progress } from './progress.js';

/** A pass-through stream that shows each chunk to `observe` (for hashing or counting). */
export function tap(observe: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      observe(chunk);
      done(null, chunk);
    },
  });
}

/** A pass-through stream that reports its bytes as progress of item `id`. */
export function progressTap(progress: Progress, id: string): Transform {
  return tap((chunk) => progress.advance(id, chunk.length));
}
