/**
 * `berth image save`: images from a registry into a docker-archive (which `docker load` reads; it
 * is also an OCI layout, as newer docker versions write) or an OCI image layout, folder or tar.
 * Blobs shared by several images are written once; the output appears only when complete.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { parseManifest, type Descriptor } from '../oci/index.js';
import { choosePlatform, collectBlobs, parsePlatform } from './copy.js';
import { formatImageRef, referenceOf, type ImageRef } from './image-ref.js';
import type { Progress } from './progress.js';
import { diskError, partialPath, syncFile } from './output-file.js';
import { isIndex, type FetchedManifest, type RegistryClient } from './registry-client.js';
import { progressTap } from './streams.js';

/** How to save. */
export interface SaveOptions {
  format: 'docker' | 'oci';
  /** Keep whole indexes (OCI format only). */
  allPlatforms?: boolean;
  platform?: string;
  clientFor: (registry: string) => RegistryClient;
  progress: Progress;
}

interface Planned {
  ref: ImageRef;
  top: FetchedManifest;
  manifests: FetchedManifest[];
  blobs: Descriptor[];
  /** For manifest.json: the image's config and layers. */
  config?: Descriptor;
  layers: Descriptor[];
}

async function plan(ref: ImageRef, options: SaveOptions): Promise<Planned> {
  const client = options.clientFor(ref.registry);
  let top = await client.getManifest(ref.repository, referenceOf(ref));
  const keepIndex = isIndex(top) && options.format === 'oci' && options.allPlatforms;
  if (isIndex(top) && !keepIndex)
    top = await client.getManifest(
      ref.repository,
      choosePlatform(top, parsePlatform(options.platform ?? 'linux/amd64'), formatImageRef(ref))
        .digest,
    );
  const manifests = [top];
  const blobs: Descriptor[] = [];
  if (isIndex(top))
    for (const child of parseManifest(top.bytes, top.mediaType).children) {
      const m = await client.getManifest(ref.repository, child.digest);
      manifests.push(m);
      blobs.push(...collectBlobs(m));
    }
  else blobs.push(...collectBlobs(top));
  const [config, ...layers] = isIndex(top) ? [] : collectBlobs(top);
  return { ref, top, manifests, blobs, config, layers };
}

const blobPath = (digest: string): string => path.posix.join('blobs', ...digest.split(':'));

function documents(planned: Planned[], format: SaveOptions['format']): Record<string, string> {
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: planned.map((p) => ({
      mediaType: p.top.mediaType,
      digest: p.top.digest,
      size: p.top.bytes.length,
      annotations: {
        'io.containerd.image.name': formatImageRef({
          ...p.ref,
          digest: undefined,
          tag: p.ref.tag ?? 'latest',
        }),
        'org.opencontainers.image.ref.name': p.ref.tag ?? 'latest',
      },
    })),
  };
  const docs: Record<string, string> = {
    'oci-layout': '{"imageLayoutVersion":"1.0.0"}',
    'index.json': JSON.stringify(index),
  };
  if (format === 'docker') {
    docs['manifest.json'] = JSON.stringify(
      planned.map((p) => ({
        Config: blobPath(p.config!.digest),
        RepoTags: [formatImageRef({ ...p.ref, digest: undefined, tag: p.ref.tag ?? 'latest' })],
        Layers: p.layers.map((l) => blobPath(l.digest)),
      })),
    );
  }
  return docs;
}

/** Where saved content goes: a tar being packed, or a folder. */
interface Sink {
  /** Writes a small file (a manifest, index.json, …). */
  file(name: string, body: Buffer): Promise<void>;
  /** Writes a blob of `size` bytes from `source`. */
  blob(name: string, size: number, source: Readable): Promise<void>;
}

/** Writes every manifest and blob of `planned` once, then the layout's documents. */
async function writeAll(sink: Sink, planned: Planned[], options: SaveOptions): Promise<void> {
  const written = new Set<string>();
  for (const p of planned) {
    for (const m of p.manifests) {
      if (written.has(m.digest)) continue;
      written.add(m.digest);
      await sink.file(blobPath(m.digest), m.bytes);
    }
    for (const b of p.blobs) {
      if (written.has(b.digest)) continue;
      written.add(b.digest);
      options.progress.start(b.digest, b.digest.slice(7, 19), b.size);
      const client = options.clientFor(p.ref.registry);
      const source = await client.getBlob(p.ref.repository, b.digest, b.size);
      await sink.blob(
        blobPath(b.digest),
        b.size,
        source.pipe(progressTap(options.progress, b.digest)),
      );
      options.progress.finish(b.digest, 'saved');
    }
  }
  for (const [name, text] of Object.entries(documents(planned, options.format)))
    await sink.file(name, Buffer.from(text));
}

async function writeTar(file: string, planned: Planned[], options: SaveOptions): Promise<void> {
  const pack = tar.pack();
  const output = pipeline(pack, createWriteStream(file));
  // A failed write (a full disk) destroys the pack, failing the entry being written; the error
  // itself is thrown where `output` is awaited.
  output.catch(() => undefined);
  const mtime = new Date(0);
  await writeAll(
    {
      file: (name, body) =>
        new Promise<void>((resolve, reject) =>
          pack.entry({ name, size: body.length, mtime }, body, (err) =>
            err ? reject(err) : resolve(),
          ),
        ),
      blob: (name, size, source) => pipeline(source, pack.entry({ name, size, mtime })),
    },
    planned,
    options,
  );
  pack.finalize();
  await output;
}

async function writeFolder(
  folder: string,
  planned: Planned[],
  options: SaveOptions,
): Promise<void> {
  await mkdir(path.join(folder, 'blobs', 'sha256'), { recursive: true });
  await writeAll(
    {
      file: (name, body) => writeFile(path.join(folder, name), body),
      blob: (name, _size, source) => pipeline(source, createWriteStream(path.join(folder, name))),
    },
    planned,
    options,
  );
}

/**
 * Saves `refs` to `output`: a tar for the docker format or a name ending in `.tar`, else (OCI) a
 * folder. Written beside the output and renamed into place when complete.
 */
export async function saveImages(
  refs: ImageRef[],
  output: string,
  options: SaveOptions,
): Promise<void> {
  const planned = [];
  for (const ref of refs) planned.push(await plan(ref, options));
  const asTar = options.format === 'docker' || output.endsWith('.tar');
  const temp = partialPath(output);
  try {
    if (asTar) {
      await writeTar(temp, planned, options);
      await syncFile(temp);
    } else await writeFolder(temp, planned, options);
    await rm(output, { recursive: true, force: true });
    await rename(temp, output);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw diskError(output, err);
  }
}
