/** Manifest media types the registry understands. */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** The four manifest kinds the registry stores and validates. */
export const MANIFEST_MEDIA_TYPES = [
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
] as const;
/** One of the manifest media types. */
export type ManifestMediaType = (typeof MANIFEST_MEDIA_TYPES)[number];

/** True for a media type naming an index (OCI image index or Docker manifest list). */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/** True when `value` is one of the manifest media types. */
export function isManifestMediaType(value: string): value is ManifestMediaType {
  return (MANIFEST_MEDIA_TYPES as readonly string[]).includes(value);
}

/** The media type part of a Content-Type or Accept entry, lower-cased, without parameters. */
export function bareMediaType(value: string): string {
  return value.split(';')[0]!.trim().toLowerCase();
}
