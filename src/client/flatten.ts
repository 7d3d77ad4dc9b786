/**
 * `berth image export`: an image's layers applied into one root filesystem tar, as a container
 * made from it has. Layers are read top-down once each: an entry is kept when no higher layer has
 * the same path, deleted it (`.wh.name`) or made its directory opaque (`.wh..wh..opq`).
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Descriptor } from '../oci/index.js';
import { choosePlatform, collectBlobs, parsePlatform } from './copy.js';
import { formatImageRef, referenceOf, type ImageRef } from './image-ref.js';
import { diskError, partialPath, syncFile } from './output-file.js';
import { isIndex, type RegistryClient } from './registry-client.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

function clean(name: string): string {
  return path.posix.normalize(`/${name}`).replace(/\/+$/, '').slice(1);
}

/** Whether `p` or one of its parents is in `set`. */
function coveredBy(set: Set<string>, p: string): boolean {
  for (let at = p; at !== ''; at = at.includes('/') ? at.slice(0, at.lastIndexOf('/')) : '')
    if (set.has(at)) return true;
  return false;
}

/** Whether a parent (not `p` itself) of `p` is in `set`. */
function parentIn(set: Set<string>, p: string): boolean {
  return p.includes('/') && coveredBy(set, p.slice(0, p.lastIndexOf('/')));
}

function decompressed(layer: Descriptor, stream: Readable): Readable {
  if (layer.mediaType.endsWith('+zstd') || layer.mediaType.endsWith('.zstd'))
    throw new Error(`layer ${layer.digest} is zstd-compressed, which this version cannot read`);
  if (layer.mediaType.endsWith('gzip')) return stream.pipe(createGunzip());
  return stream;
}

/** Writes the flattened filesystem of `ref` to `output` (a tar), atomically. */
export async function exportImage(
  client: RegistryClient,
  ref: ImageRef,
  output: string,
  platform?: string,
): Promise<void> {
  let manifest = await client.getManifest(ref.repository, referenceOf(ref));
  if (isIndex(manifest))
    manifest = await client.getManifest(
      ref.repository,
      choosePlatform(manifest, parsePlatform(platform ?? 'linux/amd64'), formatImageRef(ref))
        .digest,
    );
  const layers = collectBlobs(manifest).slice(1);
  const temp = partialPath(output);
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(temp));
  written.catch(() => undefined); // thrown where awaited; a full disk fails the entry in progress
  const seen = new Set<string>();
  const deleted = new Set<string>();
  const opaque = new Set<string>();
  try {
    for (const layer of [...layers].reverse()) {
      const newDeleted: string[] = [];
      const newOpaque: string[] = [];
      const extract = tar.extract();
      const source = decompressed(
        layer,
        await client.getBlob(ref.repository, layer.digest, layer.size),
      );
      const reading = pipeline(source, extract);
      for await (const entry of extract) {
        const name = clean(entry.header.name);
        const base = path.posix.basename(name);
        const dir = path.posix.dirname(name) === '.' ? '' : path.posix.dirname(name);
        if (base === OPAQUE) newOpaque.push(dir);
        else if (base.startsWith(WHITEOUT))
          newDeleted.push(
            dir ? `${dir}/${base.slice(WHITEOUT.length)}` : base.slice(WHITEOUT.length),
          );
        const hidden =
          name === '' ||
          base.startsWith(WHITEOUT) ||
          seen.has(name) ||
          coveredBy(deleted, name) ||
          parentIn(opaque, name);
        if (hidden) {
          entry.resume();
          continue;
        }
        seen.add(name);
        const header = {
          ...entry.header,
          name: entry.header.type === 'directory' ? `${name}/` : name,
        };
        if (header.linkname && header.type === 'link') header.linkname = clean(header.linkname);
        await pipeline(entry, pack.entry(header));
      }
      await reading;
      newDeleted.forEach((d) => deleted.add(d));
      newOpaque.forEach((d) => opaque.add(d));
    }
    pack.finalize();
    await written;
    await syncFile(temp);
    await rename(temp, output);
  } catch (err) {
    pack.destroy();
    await rm(temp, { force: true });
    throw diskError(output, err);
  }
}
