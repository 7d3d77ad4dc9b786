/**
 * Garbage collection that runs while the registry serves: each removal re-checks, inside the
 * deleting transaction, that nothing references the object and that it is older than the grace
 * period, so a push in flight never loses a blob it needs.
 */
import type { Meta } from '../meta/index.js';
import type { ContentStore } from '../storage/index.js';
import type { ReadCache } from './read-cache.js';

/** How a collection runs. */
export interface GcOptions {
  dryRun: boolean;
  /** Collect manifests that no tag, index or live subject refers to. */
  deleteUntagged: boolean;
  /** Milliseconds an object must have been unreferenced before it is removed. */
  graceMs: number;
  /** Told when each phase starts; the report it is given fills in as the run goes. */
  onPhase?: (phase: 'manifests' | 'links' | 'blobs', report: GcReport) => void;
}

/** What a collection removed (or, in a dry run, would remove). */
export interface GcReport {
  dryRun: boolean;
  manifests: { repository: string; digest: string }[];
  links: { repository: string; digest: string }[];
  blobs: { digest: string; size: number }[];
  bytesFreed: number;
}

/** Collects unreferenced manifests, repository blob links and blobs. */
export class GarbageCollector {
  constructor(
    private readonly meta: Meta,
    private readonly store: ContentStore,
    private readonly cache: ReadCache,
  ) {}

  /** Runs one collection. */
  async collect(options: GcOptions): Promise<GcReport> {
    const before = Date.now() - options.graceMs;
    const report: GcReport = {
      dryRun: options.dryRun,
      manifests: [],
      links: [],
      blobs: [],
      bytesFreed: 0,
    };
    if (options.deleteUntagged) {
      options.onPhase?.('manifests', report);
      await this.collectManifests(before, options.dryRun, report);
    }
    options.onPhase?.('links', report);
    await this.collectLinks(before, options.dryRun, report);
    options.onPhase?.('blobs', report);
    await this.collectBlobs(before, options.dryRun, report);
    report.bytesFreed = report.blobs.reduce((sum, b) => sum + b.size, 0);
    if (!options.dryRun) this.cache.clear();
    return report;
  }

  /** Puts back trashed blobs whose removal never committed, and purges the rest. */
  async recoverTrash(): Promise<void> {
    for (const digest of await this.store.listTrash()) {
      if (await this.meta.gc.blobKnown(digest)) await this.store.restoreBlob(digest);
      else await this.store.purgeTrashedBlob(digest);
    }
  }

  private async collectManifests(before: number, dryRun: boolean, report: GcReport): Promise<void> {
    for (;;) {
      const candidates = await this.meta.gc.untaggedManifests(before);
      let removed = 0;
      for (const c of candidates) {
        const gone =
          dryRun ||
          (await this.meta.writeTransaction((m) => m.gc.deleteUntaggedManifest(c, before)));
        if (gone) {
          report.manifests.push({ repository: c.repository, digest: c.digest });
          removed += 1;
        }
      }
      if (dryRun || removed === 0) return;
    }
  }

  private async collectLinks(before: number, dryRun: boolean, report: GcReport): Promise<void> {
    for (const c of await this.meta.gc.unusedLinks(before)) {
      const gone =
        dryRun || (await this.meta.writeTransaction((m) => m.gc.deleteUnusedLink(c, before)));
      if (gone) report.links.push({ repository: c.repository, digest: c.digest });
    }
  }

  private async collectBlobs(before: number, dryRun: boolean, report: GcReport): Promise<void> {
    const candidates = dryRun
      ? await this.dryRunOrphans(before, report)
      : await this.meta.gc.orphanBlobs(before);
    for (const blob of candidates) {
      if (dryRun) {
        report.blobs.push(blob);
        continue;
      }
      const gone = await this.meta.writeTransaction(async (m) => {
        if (!(await m.gc.deleteOrphanBlob(blob.digest, before))) return false;
        await m.gc.countRemoval();
        // Bytes kept in the database are set aside in this transaction (undone with it).
        await m.inlineBlobs.trash(blob.digest);
        await this.store.trashBlob(blob.digest);
        return true;
      });
      if (gone) {
        await this.store.purgeTrashedBlob(blob.digest);
        report.blobs.push(blob);
      }
    }
  }

  /** Blobs that would be orphaned once the links a dry run found were removed. */
  private async dryRunOrphans(
    before: number,
    report: GcReport,
  ): Promise<{ digest: string; size: number }[]> {
    const orphans = await this.meta.gc.orphanBlobs(before);
    const known = new Set(orphans.map((o) => o.digest));
    const byDigest = new Map<string, number>();
    for (const link of report.links)
      byDigest.set(link.digest, (byDigest.get(link.digest) ?? 0) + 1);
    for (const [digest, count] of byDigest) {
      if (known.has(digest)) continue;
      const holders = await this.meta.repositories.holdingBlob(digest);
      const size = await this.meta.blobs.size(digest);
      if (holders.length === count && size !== undefined) orphans.push({ digest, size });
    }
    return orphans;
  }
}
