/** A pass-through stream that checks a blob's size and digest as its bytes go by. */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { parseDigest } from '../oci/index.js';

/** Passes bytes on, failing at the end (or on excess) when they are not `size` bytes of `digest`. */
export function verifying(digest: string, size: number | undefined, what: string): Transform {
  const { algorithm } = parseDigest(digest);
  const hash = createHash(algorithm);
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (size !== undefined && seen > size)
        return done(new Error(`${what}: more than the ${size} bytes announced`));
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      if (size !== undefined && seen !== size)
        return done(new Error(`${what}: ${seen} bytes, expected ${size} (truncated)`));
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== digest)
        return done(new Error(`${what}: content has digest ${actual}, expected ${digest}`));
      done();
    },
  });
}
