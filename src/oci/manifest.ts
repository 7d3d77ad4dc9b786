/** Parsing and validating manifests and indexes, and extracting what they reference. */
import { BerthError } from './errors.js';
import { parseDigest } from './reference.js';
import { firstProblem, imageIndexSchema, imageManifestSchema } from './manifest-schema.js';
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

/** Checks the digest of an already shape-checked descriptor. */
function checkDigest(d: Descriptor, where: string): Descriptor {
  try {
    parseDigest(d.digest);
  } catch (err) {
    throw invalid(`${where}: ${(err as Error).message}`);
  }
  return d;
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

/** Docker's schema 1 media types (signed and unsigned). */
const SCHEMA_1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+(json|prettyjws)$/;

/** Picks the media type: the Content-Type header wins, then the document's own `mediaType`. */
function resolveMediaType(
  doc: Record<string, unknown>,
  contentType: string | undefined,
): ManifestMediaType {
  if (doc.mediaType !== undefined && typeof doc.mediaType !== 'string')
    throw invalid('mediaType must be a string');
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const header = contentType ? bareMediaType(contentType) : undefined;
  if (header !== undefined && SCHEMA_1.test(header))
    throw invalid(`Content-Type ${header} is Docker schema 1, which is not supported`);
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
  if (isIndexMediaType(mediaType)) {
    const checked = imageIndexSchema.safeParse(doc);
    if (!checked.success) throw invalid(`invalid image index: ${firstProblem(checked.error)}`);
    const index = checked.data;
    const children = index.manifests.map((d, i) => checkDigest(d as Descriptor, `manifests.${i}`));
    return {
      mediaType,
      blobs: [],
      children,
      subject: index.subject && checkDigest(index.subject as Descriptor, 'subject'),
      artifactType: index.artifactType,
      annotations: index.annotations,
    };
  }
  const checked = imageManifestSchema.safeParse(doc);
  if (!checked.success) throw invalid(`invalid image manifest: ${firstProblem(checked.error)}`);
  const manifest = checked.data;
  const config = checkDigest(manifest.config as Descriptor, 'config');
  const layers = manifest.layers.map((d, i) => checkDigest(d as Descriptor, `layers.${i}`));
  const subject = manifest.subject && checkDigest(manifest.subject as Descriptor, 'subject');
  const annotations = manifest.annotations;
  const artifactType = manifest.artifactType;
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

/** What an `Accept` header asks of a manifest GET. */
export interface ManifestAcceptance {
  /** The media types it lists. */
  types: ReadonlySet<string>;
  /** Whether it lists manifest types without a wildcard: only those may be served. */
  choosy: boolean;
}

/** Accept headers already read: a client sends the same one with every request. */
const acceptances = new Map<string, ManifestAcceptance>();
/** Distinct Accept headers remembered before the memory starts again. */
const MAX_ACCEPTANCES = 256;
/** Longer headers are read each time, not remembered (docker's own is about 250 characters). */
const MAX_REMEMBERED_ACCEPT = 1024;

/**
 * What `accept` asks of a manifest GET, remembered by the header's text (the returned value is
 * shared: not to be changed).
 */
export function manifestAcceptance(accept: string | string[] | undefined): ManifestAcceptance {
  const key = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  const known = acceptances.get(key);
  if (known) return known;
  const types = acceptedMediaTypes(key);
  const read = { types, choosy: [...types].some(isManifestMediaType) && !types.has('*/*') };
  if (key.length <= MAX_REMEMBERED_ACCEPT) {
    if (acceptances.size >= MAX_ACCEPTANCES) acceptances.clear();
    acceptances.set(key, read);
  }
  return read;
}

/** The media type a single-platform manifest would be served as for an index of `indexType`. */
export function manifestTypeForIndex(indexType: string): string {
  return indexType === DOCKER_MANIFEST_LIST ? DOCKER_MANIFEST : OCI_MANIFEST;
}
