/** Parsing and validating manifests and indexes, and extracting what they reference. */
import { BerthError } from './errors.js';
import { parseDigest } from './reference.js';
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
  bareMediaType,
  isIndexMediaType,
  isManifestMediaType,
  type ManifestMediaType,
} from './media-types.js';

/** The largest manifest accepted, as distribution does. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A content descriptor (`mediaType`, `digest`, `size`, …). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
}

/** The platform of an index entry. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/** What the registry needs to know of a manifest it stores. */
export interface ParsedManifest {
  mediaType: ManifestMediaType;
  /** Blobs (config and layers) that must be in the repository, skipping foreign layers with urls. */
  blobs: string[];
  /** Child manifests of an index, which must be in the repository. */
  children: Descriptor[];
  subject?: Descriptor;
  /** `artifactType`, or for an image manifest its config media type, as the referrers API reports. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

function invalid(message: string, detail?: unknown): BerthError {
  return new BerthError('MANIFEST_INVALID', message, detail);
}

function readDescriptor(value: unknown, where: string): Descriptor {
  if (typeof value !== 'object' || value === null)
    throw invalid(`${where}: descriptor must be an object`);
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '')
    throw invalid(`${where}: mediaType missing`);
  if (typeof d.digest !== 'string') throw invalid(`${where}: digest missing`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw invalid(`${where}: size must be a non-negative integer`);
  }
  try {
    parseDigest(d.digest);
  } catch (err) {
    throw invalid(`${where}: ${(err as Error).message}`);
  }
  return value as Descriptor;
}

function readDescriptors(value: unknown, where: string): Descriptor[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`${where} must be an array`);
  return value.map((entry, i) => readDescriptor(entry, `${where}[${i}]`));
}

function parseJson(bytes: Uint8Array): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw invalid('manifest must be a JSON object');
  return doc as Record<string, unknown>;
}

/** Picks the media type: the Content-Type header wins, then the document's own `mediaType`. */
function resolveMediaType(
  doc: Record<string, unknown>,
  contentType: string | undefined,
): ManifestMediaType {
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const header = contentType ? bareMediaType(contentType) : undefined;
  if (
    declared !== undefined &&
    header !== undefined &&
    isManifestMediaType(header) &&
    declared !== header
  ) {
    throw invalid(`mediaType ${declared} does not match Content-Type ${header}`);
  }
  const chosen = header && isManifestMediaType(header) ? header : declared;
  if (chosen && isManifestMediaType(chosen)) return chosen;
  if (doc.schemaVersion === 1) {
    throw new BerthError(
      'MANIFEST_INVALID',
      'Docker manifest schema 1 is not supported; push with schema 2 or OCI',
    );
  }
  // An OCI document without mediaType: tell image manifests from indexes by their fields.
  if (Array.isArray(doc.manifests)) return OCI_INDEX;
  if (doc.config !== undefined) return OCI_MANIFEST;
  throw invalid(`unsupported manifest media type: ${chosen ?? header ?? 'none'}`);
}

/** Parses manifest bytes as pushed, validating the shape for its media type. */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new BerthError(
      'MANIFEST_TOO_LARGE',
      `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,
    );
  }
  const doc = parseJson(bytes);
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const mediaType = resolveMediaType(doc, contentType);
  const subject = doc.subject === undefined ? undefined : readDescriptor(doc.subject, 'subject');
  const annotations = (doc.annotations as Record<string, string> | undefined) ?? undefined;
  const artifactType = typeof doc.artifactType === 'string' ? doc.artifactType : undefined;
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid('manifests must be an array');
    const children = readDescriptors(doc.manifests, 'manifests');
    return { mediaType, blobs: [], children, subject, artifactType, annotations };
  }
  const config = readDescriptor(doc.config, 'config');
  const layers = readDescriptors(doc.layers, 'layers');
  if (mediaType === DOCKER_MANIFEST && layers.length === 0 && doc.layers === undefined) {
    throw invalid('layers must be an array');
  }
  const blobs = [
    config.digest,
    ...layers.filter((l) => !l.urls || l.urls.length === 0).map((l) => l.digest),
  ];
  return {
    mediaType,
    blobs: [...new Set(blobs)],
    children: [],
    subject,
    artifactType: artifactType ?? config.mediaType,
    annotations,
  };
}

/** The media types that an `Accept` header lists (empty when absent). */
export function acceptedMediaTypes(accept: string | string[] | undefined): Set<string> {
  const values = Array.isArray(accept) ? accept : accept ? [accept] : [];
  return new Set(
    values
      .flatMap((v) => v.split(','))
      .map(bareMediaType)
      .filter((v) => v !== ''),
  );
}

/** The media type a single-platform manifest would be served as for an index of `indexType`. */
export function manifestTypeForIndex(indexType: string): string {
  return indexType === DOCKER_MANIFEST_LIST ? DOCKER_MANIFEST : OCI_MANIFEST;
}
