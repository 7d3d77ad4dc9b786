/**
 * Reading images from a folder: a docker-archive (`manifest.json`, as `docker save` writes, in the
 * classic or the OCI-layout form) or an OCI image layout (`index.json`, `blobs/`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import path from 'node:path';
import { sniffCompression } from './compression.js';
import { OCI_MANIFEST, digestOf, isIndexMediaType, type Descriptor } from '../oci/index.js';

/** A blob found in the folder: where its bytes are and what they are. */
export interface LocalBlob extends Descriptor {
  file: string;
}

/** One image (or index) to push: the manifest bytes, where it goes, and every blob it needs. */
export interface LocalImage {
  /** The full reference it was saved under (`host/repo:tag`), or just a tag, or nothing. */
  name?: string;
  manifest: { bytes: Buffer; mediaType: string; digest: string };
  /** Child manifests of an index, pushed before it. */
  children: { bytes: Buffer; mediaType: string; digest: string }[];
  blobs: LocalBlob[];
}

function inside(root: string, relative: string, what: string): string {
  const file = path.resolve(root, relative);
  if (!existsSync(file)) throw new Error(`${what}: ${relative} is missing (truncated archive?)`);
  const real = realpathSync(file);
  if (!real.startsWith(realpathSync(root) + path.sep))
    throw new Error(`${what}: ${relative} points outside the archive`);
  return real;
}

/** The sha256 and size of `file` (of its gunzipped content with `gunzip`). */
async function hashFile(file: string, gunzip = false): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const source = gunzip ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  for await (const chunk of source) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function layerMediaType(file: string): Promise<string> {
  const compression = await sniffCompression(file);
  return `application/vnd.oci.image.layer.v1.tar${compression === 'none' ? '' : `+${compression}`}`;
}

async function readJson<T>(file: string, what: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(
      `${what}: ${path.basename(file)} is not valid JSON (${(err as Error).message})`,
      { cause: err },
    );
  }
}

/** Images of a docker-archive folder, each made into an OCI image manifest. */
async function dockerArchiveImages(root: string, what: string): Promise<LocalImage[]> {
  const entries = await readJson<
    { Config: string; RepoTags?: string[] | null; Layers: string[] }[]
  >(path.join(root, 'manifest.json'), what);
  if (!Array.isArray(entries) || entries.length === 0)
    throw new Error(`${what}: manifest.json lists no images`);
  const images: LocalImage[] = [];
  for (const entry of entries) {
    const configFile = inside(root, entry.Config, what);
    const configBytes = await readFile(configFile);
    const config: LocalBlob = {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: digestOf(configBytes),
      size: configBytes.length,
      file: configFile,
    };
    const diffIds =
      (JSON.parse(configBytes.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs
        ?.diff_ids ?? [];
    if (diffIds.length !== entry.Layers.length)
      throw new Error(
        `${what}: ${entry.Config} lists ${diffIds.length} layers, manifest.json ${entry.Layers.length}`,
      );
    const layers: LocalBlob[] = [];
    for (const [i, layer] of entry.Layers.entries()) {
      const file = inside(root, layer, what);
      const mediaType = await layerMediaType(file);
      const hashed = await hashFile(file);
      const diffId = mediaType.endsWith('gzip') ? await hashFile(file, true) : hashed;
      if (diffId.digest !== diffIds[i])
        throw new Error(
          `${what}: ${layer} has content ${diffId.digest}, but the image expects ${diffIds[i]} (corrupted)`,
        );
      layers.push({ mediaType, ...hashed, file });
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    );
    const tags = entry.RepoTags ?? [];
    const base = {
      manifest: { bytes: manifest, mediaType: OCI_MANIFEST, digest: digestOf(manifest) },
      children: [],
      blobs: [config, ...layers],
    };
    if (tags.length === 0) images.push(base);
    for (const name of tags) images.push({ ...base, name });
  }
  return images;
}

async function blobOf(root: string, d: Descriptor, what: string): Promise<LocalBlob> {
  const [algorithm, hex] = d.digest.split(':');
  const file = inside(root, path.join('blobs', algorithm!, hex!), what);
  const size = (await stat(file)).size;
  if (size !== d.size)
    throw new Error(`${what}: blob ${d.digest} has ${size} bytes, expected ${d.size} (truncated?)`);
  // Checked before anything is pushed, so a damaged layout changes nothing in the registry.
  const actual = await hashFile(file);
  if (actual.digest !== d.digest)
    throw new Error(`${what}: blob ${d.digest} has content ${actual.digest} (corrupted)`);
  return { ...d, file };
}

async function manifestOf(root: string, d: Descriptor, what: string) {
  const blob = await blobOf(root, d, what);
  const bytes = await readFile(blob.file);
  if (digestOf(bytes) !== d.digest)
    throw new Error(`${what}: manifest ${d.digest} does not match its digest (corrupted)`);
  return { bytes, mediaType: d.mediaType, digest: d.digest };
}

/** Images of an OCI layout folder: every entry of index.json with what it refers to. */
async function ociLayoutImages(root: string, what: string): Promise<LocalImage[]> {
  const index = await readJson<{ manifests?: Descriptor[] }>(path.join(root, 'index.json'), what);
  const images: LocalImage[] = [];
  for (const entry of index.manifests ?? []) {
    const manifest = await manifestOf(root, entry, what);
    const children: LocalImage['children'] = [];
    const blobs: LocalBlob[] = [];
    const collect = async (m: { bytes: Buffer; mediaType: string }): Promise<void> => {
      const json = JSON.parse(m.bytes.toString('utf8')) as {
        config?: Descriptor;
        layers?: Descriptor[];
        manifests?: Descriptor[];
      };
      for (const d of [...(json.config ? [json.config] : []), ...(json.layers ?? [])])
        if (!d.urls?.length && !blobs.some((b) => b.digest === d.digest))
          blobs.push(await blobOf(root, d, what));
      for (const child of json.manifests ?? []) {
        const fetched = await manifestOf(root, child, what);
        children.push(fetched);
        await collect(fetched);
      }
    };
    await collect(manifest);
    const annotations = entry.annotations ?? {};
    const name =
      annotations['io.containerd.image.name'] ?? annotations['org.opencontainers.image.ref.name'];
    images.push({
      name,
      manifest: {
        ...manifest,
        mediaType:
          manifest.mediaType ||
          (isIndexMediaType(entry.mediaType) ? entry.mediaType : OCI_MANIFEST),
      },
      children,
      blobs,
    });
  }
  if (images.length === 0) throw new Error(`${what}: index.json lists no images`);
  return images;
}

/** Every image in `root`: a docker-archive when it has manifest.json, else an OCI layout. */
export async function imagesInFolder(root: string, what: string): Promise<LocalImage[]> {
  if (existsSync(path.join(root, 'manifest.json'))) return dockerArchiveImages(root, what);
  if (existsSync(path.join(root, 'index.json'))) return ociLayoutImages(root, what);
  throw new Error(
    `${what}: neither a docker-archive (manifest.json) nor an OCI layout (index.json)`,
  );
}
