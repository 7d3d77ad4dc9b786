/** Building blobs and manifests for tests. */
import { createHash, randomBytes } from 'node:crypto';

/** The sha256 digest of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A blob with its digest. */
export interface TestBlob {
  bytes: Buffer;
  digest: string;
  size: number;
}

/** A blob of `size` random bytes (or of the given bytes). */
export function blob(content: number | string | Buffer): TestBlob {
  const bytes = typeof content === 'number' ? randomBytes(content) : Buffer.from(content);
  return { bytes, digest: sha256(bytes), size: bytes.byteLength };
}

/** An image config blob. */
export function configBlob(extra: Record<string, unknown> = {}): TestBlob {
  return blob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      config: {},
      ...extra,
    }),
  );
}

/** An OCI image manifest over a config and layers, as bytes. */
export function ociManifest(
  config: TestBlob,
  layers: TestBlob[],
  extra: Record<string, unknown> = {},
  configType = 'application/vnd.oci.image.config.v1+json',
): TestBlob {
  return blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: configType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.size,
      })),
      ...extra,
    }),
  );
}

/** An OCI image index over manifests (each with a platform). */
export function ociIndex(
  entries: { manifest: TestBlob; architecture: string }[],
  extra: Record<string, unknown> = {},
): TestBlob {
  return blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: entries.map((e) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: e.manifest.digest,
        size: e.manifest.size,
        platform: { architecture: e.architecture, os: 'linux' },
      })),
      ...extra,
    }),
  );
}
