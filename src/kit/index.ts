/** The kit room: small shared pieces with no domain (sealing secrets, the master key). */
export { SecretBox } from './secret-box.js';
export { loadMasterKey } from './master-key.js';
export { packageRoot } from './package-root.js';
export { addressMatcher, isAddressOrCidr, plainAddress } from './address-matcher.js';
export { markAudited, wasAudited } from './audited.js';
export { CoalescedRunner } from './coalesced-runner.js';
export { formatBytes, parseBytes } from './byte-sizes.js';
export { loadX509 } from './x509-library.js';
export { noteReceived, noteReceivedChunk, RECLAIM_EVERY } from './received-chunks.js';
// Claiming and holding a chunk happen inside the kit (running-digest.ts); the stores finish it.
export { finishChunk, freedChunkBytes, isReadAlone, readAlone } from './chunk-release.js';
export {
  digesting,
  digestsOffLoop,
  resumedDigest,
  runningDigest,
  type RunningDigest,
} from './running-digest.js';
export { Budget } from './budget.js';
export { rememberBounded } from './bounded-map.js';
export { prepended, readHead, type StreamHead } from './stream-head.js';
export { nativeAddon } from './native-addon.js';
export { directIoAddon, pagesCached, type DirectIoAddon } from './direct-io-addon.js';
export {
  alignedBuffer,
  alignedBuffersAvailable,
  DIRECT_ALIGNMENT,
  isAligned,
} from './aligned-buffer.js';
export { BufferPool, directIoBuffers } from './buffer-pool.js';
