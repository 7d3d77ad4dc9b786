/** The registry room: the core with no HTTP in it. */
export { Registry, type RegistryParts } from './registry.js';
export type { UploadState, ChunkRange } from './uploads.js';
export type { ChangeContext } from './ports.js';
export type { OpenBlob } from './blobs.js';
export type { PushedManifest } from './manifests.js';
export type { GcOptions, GcReport } from './gc.js';
export {
  NO_EVENTS,
  type EventSink,
  type CanRead,
  type ByteCounter,
  type CacheOutcome,
  type PullThrough,
} from './ports.js';
export { TtlCache } from './ttl-cache.js';
export type { TagSummary, ManifestView, LayerView, Platform } from './image-details.js';
export { rankRepositories, searchTerms } from './repository-search.js';
export { SMALL_BLOB_BYTES, SmallBlobBytes } from './small-blob-bytes.js';
export type { GcStatus } from './gc-runner.js';
export type { ByteRange } from '../storage/index.js';
export { admitNewRepository, quotaLabel, type Headroom } from './quota-guard.js';
export { recordChange, type ChangeTarget } from './change-events.js';
export { ImmutableTags } from './immutable-tags.js';
export { AppendClaims, APPEND_CLAIM_MS, type AppendClaim } from './append-claims.js';
