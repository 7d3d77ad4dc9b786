/** Computing digests of bytes held in memory (manifests); blobs are hashed while streaming. */
import { createHash } from 'node:crypto';
import type { Digest } from './reference.js';

/** The digest string (`sha256:…`) of `bytes` with the given algorithm. */
export function digestOf(bytes: Uint8Array, algorithm: Digest['algorithm'] = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** The digest of the empty blob, which every registry knows without an upload. */
export const EMPTY_SHA256 =
  'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
