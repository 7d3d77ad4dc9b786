/** What `berth image inspect` shows of an image or index. */
import { parseManifest } from '../oci/index.js';
import { collectBlobs } from './copy.js';
import { formatImageRef, referenceOf, type ImageRef } from './image-ref.js';
import { isIndex, type RegistryClient } from './registry-client.js';

/** A summary of an image or an index. */
export interface ImageSummary {
  name: string;
  digest: string;
  mediaType: string;
  /** For an index: its entries. */
  manifests?: { digest: string; mediaType: string; size: number; platform?: string }[];
  /** For an image: from its config. */
  architecture?: string;
  os?: string;
  created?: string;
  config?: { Cmd?: string[]; Entrypoint?: string[]; Env?: string[]; WorkingDir?: string };
  layers?: { digest: string; mediaType: string; size: number }[];
  size?: number;
}

/** Describes the image `ref` names. */
export async function inspectImage(client: RegistryClient, ref: ImageRef): Promise<ImageSummary> {
  const m = await client.getManifest(ref.repository, referenceOf(ref));
  const base = { name: formatImageRef(ref), digest: m.digest, mediaType: m.mediaType };
  if (isIndex(m)) {
    const { children } = parseManifest(m.bytes, m.mediaType);
    return {
      ...base,
      manifests: children.map((c) => ({
        digest: c.digest,
        mediaType: c.mediaType,
        size: c.size,
        platform: c.platform
          ? [c.platform.os, c.platform.architecture, c.platform.variant].filter(Boolean).join('/')
          : undefined,
      })),
    };
  }
  const [configDescriptor, ...layers] = collectBlobs(m);
  const stream = await client.getBlob(
    ref.repository,
    configDescriptor!.digest,
    configDescriptor!.size,
  );
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const config = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    architecture?: string;
    os?: string;
    created?: string;
    config?: ImageSummary['config'];
  };
  return {
    ...base,
    architecture: config.architecture,
    os: config.os,
    created: config.created,
    config: config.config,
    layers: layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
    size: layers.reduce((sum, l) => sum + l.size, 0),
  };
}
