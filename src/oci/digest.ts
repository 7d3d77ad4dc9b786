/** Computing digests of bytes held in memory (manifests); blobs are hashed while streaming. */
import { createHash } from 'node:crypto';
import type { Digest } from './reference.js';

/** The digest string (`sha256:…`) of `bytes` with the given algorithm. */
export function digestOf(bytes: Uint8Array, algorithm: Digest['algorithm'] = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
