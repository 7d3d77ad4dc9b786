/**
 * `berth image load`: pushing the images of a docker-archive or OCI layout (folder or tar) into a
 * registry. Blobs first (skipping those already there), manifests last: a failure leaves no image.
 */
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { extractArchive } from './archive-extract.js';
import { formatImageRef, parseImageRef, type ImageRef } from './image-ref.js';
import { imagesInFolder, type LocalBlob, type LocalImage } from './image-layout.js';
import type { Progress } from './progress.js';
import type { RegistryClient } from './registry-client.js';
import { progressTap } from './streams.js';

/** How to load. */
export interface LoadOptions {
  /** Where to push (overrides the names saved in the archive; one image only). */
  tag?: ImageRef;
  clientFor: (registry: string) => RegistryClient;
  progress: Progress;
}

function targetOf(image: LocalImage, options: LoadOptions, count: number, what: string): ImageRef {
  if (options.tag) {
    if (count > 1) throw new Error(`${what} holds ${count} images; --tag can name only one`);
    return options.tag;
  }
  if (!image.name)
    throw new Error(`${what}: an image has no name; give one with --tag REGISTRY/REPO:TAG`);
  try {
    return parseImageRef(image.name);
  } catch {
    throw new Error(
      `${what}: the image named ${image.name} has no registry in its name; give one with --tag`,
    );
  }
}

async function pushBlob(
  client: RegistryClient,
  repository: string,
  blob: LocalBlob,
  progress: Progress,
): Promise<void> {
  progress.start(blob.digest, blob.digest.slice(7, 19), blob.size);
  if (await client.hasBlob(repository, blob.digest)) return progress.finish(blob.digest, 'exists');
  const open = () => createReadStream(blob.file).pipe(progressTap(progress, blob.digest));
  await client.pushBlob(repository, blob.digest, blob.size, open);
  progress.finish(blob.digest, 'pushed');
}

async function pushImage(image: LocalImage, ref: ImageRef, options: LoadOptions): Promise<string> {
  const client = options.clientFor(ref.registry);
  const queue = [...image.blobs];
  await Promise.all(
    Array.from({ length: Math.min(3, queue.length) }, async () => {
      for (let blob = queue.shift(); blob; blob = queue.shift())
        await pushBlob(client, ref.repository, blob, options.progress);
    }),
  );
  for (const child of image.children) await client.putManifest(ref.repository, child.digest, child);
  await client.putManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest', image.manifest);
  return image.manifest.digest;
}

/** Pushes every image of `source` (a folder or a tar, plain or gzip); returns what was loaded. */
export async function loadImages(
  source: string,
  options: LoadOptions,
): Promise<{ name: string; digest: string }[]> {
  let folder = source;
  let scratch: string | undefined;
  try {
    if (!statSync(source).isDirectory()) {
      scratch = await mkdtemp(path.join(os.tmpdir(), 'berth-load-'));
      await extractArchive(source, scratch);
      folder = scratch;
    }
    const images = await imagesInFolder(folder, source);
    const targets = images.map((image) => targetOf(image, options, images.length, source));
    const loaded = [];
    for (const [i, image] of images.entries()) {
      const digest = await pushImage(image, targets[i]!, options);
      loaded.push({ name: formatImageRef(targets[i]!), digest });
    }
    return loaded;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
