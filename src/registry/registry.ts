/** The registry core: one object the HTTP edge and the CLI drive, built from its parts. */
import type { Meta } from '../meta/index.js';
import type { ContentStore } from '../storage/index.js';
import { BlobService } from './blobs.js';
import { GarbageCollector, type GcReport } from './gc.js';
import { ManifestService } from './manifests.js';
import { ImmutableTags } from './immutable-tags.js';
import { QuotaGuard } from './quota-guard.js';
import { ReadCache } from './read-cache.js';
import type { ByteCounter, EventSink, PullGate, PullThrough } from './ports.js';
import { PullService } from './pulls.js';
import { UploadService } from './uploads.js';
import type { UploadLimits } from './upload-limits.js';
import { ImageDetails } from './image-details.js';
import { PullCounter } from './pull-counter.js';
import { GcRunner } from './gc-runner.js';
import { LEASE_HOLDER, LeasedWork } from './leased-work.js';

/** The parts a registry is built from. */
export interface RegistryParts {
  meta: Meta;
  store: ContentStore;
  events: EventSink;
  bytes: ByteCounter;
  /** How long cached reads may lag behind changes made by other processes, in ms. */
  cacheTtlMs: number;
  /** What one uploader may hold in unfinished uploads (unbounded when absent). */
  uploadLimits?: UploadLimits;
  /** The signed-tags policy: which tags may be pulled as which digests (all, when absent). */
  pullGate?: PullGate;
  /** Told when a background collection ends (for metrics). */
  gcFinished?: (report: GcReport | undefined, failed: boolean) => void;
}

/** The registry: uploads, blobs, manifests, tags, referrers and garbage collection. */
export class Registry {
  readonly uploads: UploadService;
  readonly blobs: BlobService;
  readonly manifests: ManifestService;
  readonly gc: GarbageCollector;
  /** Per-tag and per-manifest details for the management API. */
  readonly details: ImageDetails;
  /** Pull counts and pull events, written in batches. */
  readonly pulls: PullCounter;
  /** Manifests served to clients: gated, counted and recorded. */
  readonly pulling: PullService;
  /** Background collections started from the API. */
  readonly gcRunner: GcRunner;
  /** Background jobs that run once across replicas. */
  readonly leased: LeasedWork;
  /** Which tags are immutable (rules in the database). */
  readonly immutableTags: ImmutableTags;
  /** Storage, repository and tag quotas (in the database). */
  readonly quotas: QuotaGuard;
  private readonly cache: ReadCache;
  private pullThroughCache: PullThrough | undefined;

  /** The pull-through cache, once attached. */
  get pullThrough(): PullThrough | undefined {
    return this.pullThroughCache;
  }

  /** Attaches the pull-through cache (built after the registry, which it stores into). */
  attachPullThrough(cache: PullThrough): void {
    this.pullThroughCache = cache;
  }

  /** Drops cached reads of `tags` of repository `repositoryId` after this process changed them. */
  tagsChanged(repositoryId: number, tags: string[]): void {
    for (const tag of tags) this.cache.tagChanged(repositoryId, tag);
  }

  /** Drops every cached read after repositories were deleted or moved by this process. */
  repositoriesChanged(): void {
    this.cache.forgetRepositories();
  }

  constructor(readonly parts: RegistryParts) {
    this.cache = new ReadCache(parts.cacheTtlMs);
    this.quotas = new QuotaGuard(parts.meta);
    this.uploads = new UploadService(
      parts.meta,
      parts.store,
      parts.events,
      parts.bytes,
      this.cache,
      this.quotas,
      parts.uploadLimits,
    );
    this.blobs = new BlobService(
      parts.meta,
      parts.store,
      parts.events,
      this.cache,
      this.quotas,
      () => this.pullThroughCache,
    );
    this.immutableTags = new ImmutableTags(parts.meta);
    this.manifests = new ManifestService(
      parts.meta,
      parts.events,
      this.cache,
      this.immutableTags,
      this.quotas,
    );
    this.gc = new GarbageCollector(parts.meta, parts.store, this.cache);
    this.details = new ImageDetails(parts.meta, parts.store, this.manifests);
    this.pulls = new PullCounter(parts.meta, parts.events);
    this.pulling = new PullService(
      parts.meta,
      this.manifests,
      this.pulls,
      parts.events,
      parts.pullGate,
      () => this.pullThroughCache,
    );
    this.leased = new LeasedWork(parts.meta);
    this.gcRunner = new GcRunner(this.gc, this.leased, LEASE_HOLDER, parts.gcFinished);
  }

  /** Brings storage back in line with the database after a crash; run before serving. */
  async recover(): Promise<void> {
    await this.gc.recoverTrash();
  }
}
