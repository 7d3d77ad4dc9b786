/**
 * The images control-plane nodes run, from their inventory snapshots: manifest digests (from the
 * images' repo digests and `@sha256:` references) and `repository:tag` references with the
 * registry host left off, so retention never removes what a node runs.
 */
import type { Meta } from '../meta/index.js';

/** What nodes run. */
export interface ImagesInUse {
  digests: Set<string>;
  /** `repository:tag` without a registry host. */
  references: Set<string>;
}

interface LooseSnapshot {
  containers?: { image?: string; imageId?: string; state?: string }[];
  images?: { id?: string; repoDigests?: string[] }[];
  swarm?: { services?: { image?: string }[] } | null;
}

/** `host:5000/acme/app:1@sha256:…` → the repository path, its tag and its digest. */
function splitReference(ref: string): { path: string; tag?: string; digest?: string } {
  const [named, digest] = ref.split('@') as [string, string | undefined];
  const parts = named.split('/');
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) parts.shift();
  const last = parts.pop()!;
  const colon = last.indexOf(':');
  const name = colon < 0 ? last : last.slice(0, colon);
  const tag = colon < 0 ? undefined : last.slice(colon + 1);
  return { path: [...parts, name].join('/'), tag, digest };
}

/** The images the nodes of the control plane run, as of their last snapshots. */
export async function imagesInUse(meta: Meta): Promise<ImagesInUse> {
  const inUse: ImagesInUse = { digests: new Set(), references: new Set() };
  const add = (ref: string | undefined) => {
    if (!ref) return;
    const { path, tag, digest } = splitReference(ref);
    if (digest) inUse.digests.add(digest);
    if (tag) inUse.references.add(`${path}:${tag}`);
  };
  for (const { snapshot } of await meta.cluster.inventories()) {
    const s = snapshot as LooseSnapshot;
    const imageIds = new Set<string>();
    for (const c of s.containers ?? []) {
      add(c.image);
      if (c.imageId) imageIds.add(c.imageId);
    }
    for (const service of s.swarm?.services ?? []) add(service.image);
    for (const image of s.images ?? [])
      if (image.id && imageIds.has(image.id)) for (const d of image.repoDigests ?? []) add(d);
  }
  return inUse;
}
