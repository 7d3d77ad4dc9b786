/**
 * What a person wants to know about an image: per tag its size, platforms, pusher and last pull;
 * per manifest its config, layers with the history that made each, an index's platforms, and
 * referrers. Built from stored manifests and config blobs (cached by digest: they never change).
 */
import { BerthError, OCI_INDEX, DOCKER_MANIFEST_LIST } from '../oci/index.js';
import type { Meta } from '../meta/index.js';
import type { ContentStore } from '../storage/index.js';
import type { ManifestService } from './manifests.js';
import { TtlCache } from './ttl-cache.js';

/** A platform as an index or an image config states it. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** One tag as listings show it. */
export interface TagSummary {
  tag: string;
  digest: string;
  mediaType: string;
  /** Bytes of the manifest(s) and every blob they reference. */
  size: number;
  platforms: Platform[];
  pushedAt: string;
  pushedBy: string | null;
  lastPulledAt: string | null;
}

/** One layer with the history entry that made it. */
export interface LayerView {
  digest: string;
  mediaType: string;
  size: number;
  createdBy: string | null;
  created: string | null;
}

/** A manifest in full. */
export interface ManifestView {
  digest: string;
  mediaType: string;
  size: number;
  manifest: unknown;
  config: unknown;
  layers: LayerView[];
  /** History entries that made no layer (ENV, CMD, …). */
  emptyHistory: { createdBy: string | null; created: string | null }[];
  platforms: (Platform & { digest: string; size: number })[];
  referrers: { digest: string; artifactType: string | null; mediaType: string; size: number }[];
}

const MAX_CONFIG_BYTES = 4 << 20;

interface ImageManifest {
  config?: { digest: string; mediaType?: string; size?: number };
  layers?: { digest: string; mediaType?: string; size?: number }[];
  manifests?: { digest: string; size?: number; platform?: Platform }[];
}

interface ImageConfig {
  os?: string;
  architecture?: string;
  variant?: string;
  history?: { created_by?: string; created?: string; empty_layer?: boolean }[];
}

function isIndex(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/** Reads image details for the management API. */
export class ImageDetails {
  private readonly configs = new TtlCache<ImageConfig | null>(3_600_000, 5_000);

  constructor(
    private readonly meta: Meta,
    private readonly store: ContentStore,
    private readonly manifests: ManifestService,
  ) {}

  private async repositoryId(name: string): Promise<number> {
    const id = await this.meta.repositories.find(name);
    if (id === undefined) throw new BerthError('NAME_UNKNOWN', `repository ${name} is not known`);
    return id;
  }

  private async config(digest: string | undefined): Promise<ImageConfig | null> {
    if (!digest) return null;
    const cached = this.configs.get(digest);
    if (cached !== undefined) return cached;
    let config: ImageConfig | null = null;
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of this.store.readBlob(digest)) {
        total += (chunk as Buffer).length;
        if (total > MAX_CONFIG_BYTES) break;
        chunks.push(chunk as Buffer);
      }
      if (total <= MAX_CONFIG_BYTES)
        config = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ImageConfig;
    } catch {
      config = null;
    }
    this.configs.set(digest, config);
    return config;
  }

  private static platformOf(config: ImageConfig | null): Platform[] {
    if (!config?.os || !config.architecture) return [];
    return [
      {
        os: config.os,
        architecture: config.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
      },
    ];
  }

  /**
   * The tags of `name` (a page of `limit` after `last`, by name) with their size, platforms,
   * pusher and last pull; how many tags it has in all, and whether more follow the page.
   */
  async tags(
    name: string,
    page: { limit: number; last?: string },
  ): Promise<{ tags: TagSummary[]; total: number; more: boolean }> {
    const repositoryId = await this.repositoryId(name);
    const rows = await this.meta.catalog.tags(repositoryId, { ...page, limit: page.limit + 1 });
    const more = rows.length > page.limit;
    if (more) rows.pop();
    const total =
      page.last === undefined && !more
        ? rows.length
        : await this.meta.catalog.tagCount(repositoryId);
    const out: TagSummary[] = [];
    for (const row of rows) {
      let size = row.manifestSize + row.blobSize;
      let platforms: Platform[] = [];
      const record = await this.manifests.get(name, row.digest);
      const parsed = JSON.parse(record.content.toString('utf8')) as ImageManifest;
      if (isIndex(row.mediaType)) {
        for (const child of parsed.manifests ?? []) {
          if (child.platform) platforms.push(child.platform);
          size +=
            (child.size ?? 0) + (await this.meta.catalog.blobBytes(repositoryId, child.digest));
        }
      } else {
        platforms = ImageDetails.platformOf(await this.config(parsed.config?.digest));
      }
      out.push({
        tag: row.tag,
        digest: row.digest,
        mediaType: row.mediaType,
        size,
        platforms: platforms.filter((p) => p.os !== 'unknown'),
        pushedAt: new Date(row.pushedAt).toISOString(),
        pushedBy: row.pushedBy,
        lastPulledAt: row.lastPulledAt === null ? null : new Date(row.lastPulledAt).toISOString(),
      });
    }
    return { tags: out, total, more };
  }

  /** Manifest `reference` (tag or digest) of `name` in full. */
  async describe(name: string, reference: string): Promise<ManifestView> {
    const record = await this.manifests.get(name, reference, ['*/*']);
    const manifest = JSON.parse(record.content.toString('utf8')) as ImageManifest;
    const config = isIndex(record.mediaType) ? null : await this.config(manifest.config?.digest);
    const history = (config?.history ?? []).map((h) => ({
      createdBy: h.created_by ?? null,
      created: h.created ?? null,
      empty: h.empty_layer === true,
    }));
    const made = history.filter((h) => !h.empty);
    const layers: LayerView[] = (manifest.layers ?? []).map((l, i) => ({
      digest: l.digest,
      mediaType: l.mediaType ?? '',
      size: l.size ?? 0,
      createdBy: made[i]?.createdBy ?? null,
      created: made[i]?.created ?? null,
    }));
    const { index } = await this.manifests.referrers(name, record.digest, undefined);
    return {
      digest: record.digest,
      mediaType: record.mediaType,
      size: record.size,
      manifest,
      config,
      layers,
      emptyHistory: history
        .filter((h) => h.empty)
        .map(({ createdBy, created }) => ({ createdBy, created })),
      platforms: (manifest.manifests ?? []).map((m) => ({
        digest: m.digest,
        size: m.size ?? 0,
        os: m.platform?.os ?? 'unknown',
        architecture: m.platform?.architecture ?? 'unknown',
        ...(m.platform?.variant ? { variant: m.platform.variant } : {}),
      })),
      referrers: (
        (index as { manifests: unknown[] }).manifests as {
          digest: string;
          artifactType?: string;
          mediaType: string;
          size: number;
        }[]
      ).map((r) => ({
        digest: r.digest,
        artifactType: r.artifactType ?? null,
        mediaType: r.mediaType,
        size: r.size,
      })),
    };
  }
}
