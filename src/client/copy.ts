/**
 * Copying images between registries or repositories: blobs the destination has are skipped,
 * blobs in the same registry are mounted, the rest stream through verified; manifests go last, so
 * a failed copy leaves no image behind. An index is copied whole, or one platform of it.
 */
import { PassThrough, type Readable } from 'node:stream';
import { parseManifest, type Descriptor, type Platform } from '../oci/index.js';
import { referenceOf, type ImageRef } from './image-ref.js';
import type { Progress } from './progress.js';
import { isIndex, type FetchedManifest, type RegistryClient } from './registry-client.js';
import { progressTap } from './streams.js';

/** One end of a copy. */
export interface Endpoint {
  client: RegistryClient;
  ref: ImageRef;
}

/** How to copy. */
export interface CopyOptions {
  /** Keep a whole index; otherwise only `platform` of it. */
  allPlatforms?: boolean;
  /** `os/arch[/variant]` (default linux/amd64). */
  platform?: string;
  /** Blobs moved at once (default 3). */
  concurrency?: number;
  progress: Progress;
}

/** What a copy did. */
export interface CopyResult {
  digest: string;
  mediaType: string;
  blobs: { copied: number; mounted: number; existing: number; bytes: number };
}

/** Parses `os/arch[/variant]`. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture) throw new Error(`platform ${text}: write it as os/arch[/variant]`);
  return { os, architecture, variant };
}

/** The entry of `index` for `platform`, or an error listing what the index has. */
export function choosePlatform(
  index: FetchedManifest,
  platform: Platform,
  what: string,
): Descriptor {
  const { children } = parseManifest(index.bytes, index.mediaType);
  const match = children.find(
    (c) =>
      c.platform?.os === platform.os &&
      c.platform.architecture === platform.architecture &&
      (!platform.variant || c.platform.variant === platform.variant),
  );
  if (match) return match;
  const have = children.map(
    (c) =>
      `${c.platform?.os}/${c.platform?.architecture}${c.platform?.variant ? `/${c.platform.variant}` : ''}`,
  );
  throw new Error(
    `${what} has no ${platform.os}/${platform.architecture} image (it has ${have.join(', ') || 'none'})`,
  );
}

async function runLimited<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}

/** Copies one image or index from `src` to `dst`. */
export async function copyImage(
  src: Endpoint,
  dst: Endpoint,
  options: CopyOptions,
): Promise<CopyResult> {
  const result: CopyResult['blobs'] = { copied: 0, mounted: 0, existing: 0, bytes: 0 };
  const sameRegistry = src.client.registry === dst.client.registry;
  const label = `${src.ref.registry}/${src.ref.repository}`;

  const copyBlob = async (d: Descriptor): Promise<void> => {
    const id = d.digest;
    options.progress.start(id, d.digest.slice(7, 19), d.size);
    if (await dst.client.hasBlob(dst.ref.repository, d.digest)) {
      result.existing += 1;
      return options.progress.finish(id, 'exists');
    }
    if (
      sameRegistry &&
      src.ref.repository !== dst.ref.repository &&
      (await dst.client.mountBlob(dst.ref.repository, d.digest, src.ref.repository))
    ) {
      result.mounted += 1;
      return options.progress.finish(id, 'mounted');
    }
    const open = (): Readable => {
      const out = new PassThrough();
      src.client
        .getBlob(src.ref.repository, d.digest, d.size)
        .then((stream) =>
          stream
            .on('error', (err) => out.destroy(err))
            .pipe(progressTap(options.progress, id))
            .pipe(out),
        )
        .catch((err: Error) => out.destroy(err));
      return out;
    };
    await dst.client.pushBlob(dst.ref.repository, d.digest, d.size, open);
    result.copied += 1;
    result.bytes += d.size;
    options.progress.finish(id, 'copied');
  };

  const copyManifestContent = async (m: FetchedManifest): Promise<void> => {
    const parsed = parseManifest(m.bytes, m.mediaType);
    const descriptors = collectBlobs(m);
    if (parsed.children.length > 0) {
      for (const child of parsed.children) {
        const fetched = await src.client.getManifest(src.ref.repository, child.digest);
        await copyManifestContent(fetched);
        await dst.client.putManifest(dst.ref.repository, fetched.digest, fetched);
      }
    }
    await runLimited(descriptors, options.concurrency ?? 3, copyBlob);
  };

  let top = await src.client.getManifest(src.ref.repository, referenceOf(src.ref));
  if (isIndex(top) && !options.allPlatforms) {
    const entry = choosePlatform(top, parsePlatform(options.platform ?? 'linux/amd64'), label);
    top = await src.client.getManifest(src.ref.repository, entry.digest);
  }
  await copyManifestContent(top);
  const target =
    dst.ref.digest && !dst.ref.tag ? top.digest : (dst.ref.tag ?? src.ref.tag ?? top.digest);
  if (dst.ref.digest && dst.ref.digest !== top.digest)
    throw new Error(
      `${dst.ref.registry}/${dst.ref.repository}@${dst.ref.digest}: the source image is ${top.digest}`,
    );
  await dst.client.putManifest(dst.ref.repository, target, top);
  return { digest: top.digest, mediaType: top.mediaType, blobs: result };
}

/** The config and layer descriptors of an image manifest (none for an index). */
export function collectBlobs(m: FetchedManifest): Descriptor[] {
  const json = JSON.parse(m.bytes.toString('utf8')) as {
    config?: Descriptor;
    layers?: Descriptor[];
  };
  const out: Descriptor[] = [];
  if (json.config) out.push(json.config);
  for (const layer of json.layers ?? [])
    if (!layer.urls || layer.urls.length === 0) out.push(layer);
  return out;
}
