/** Metadata the server writes itself: snapshots over the stored roles, timestamps over snapshots. */
import { createHash } from 'node:crypto';
import { isTargetsRole, type FileMeta } from './model.js';
import { signedFileBytes, type MetadataSigner } from './server-keys.js';

/** A file about to be stored. */
export interface NewFile {
  role: string;
  version: number;
  bytes: Buffer;
  /** The `expires` time as the file states it. */
  expires: string;
}

const DAY = 86_400_000;
/** How long server-signed files are valid (Notary's defaults). */
export const SNAPSHOT_LIFETIME = 3 * 365 * DAY;
export const TIMESTAMP_LIFETIME = 14 * DAY;

/** Hashes (sha256 and sha512, base64) and length of `bytes`. */
export function describeFile(
  bytes: Buffer,
): FileMeta & { hashes: { sha256: string; sha512: string } } {
  return {
    hashes: {
      sha256: createHash('sha256').update(bytes).digest('base64'),
      sha512: createHash('sha512').update(bytes).digest('base64'),
    },
    length: bytes.length,
  };
}

/** A snapshot listing root, targets and every delegation among `roles`. */
export function snapshotOf(
  roles: Map<string, Buffer>,
  version: number,
  now: number,
  signer: MetadataSigner,
): NewFile {
  const meta: Record<string, FileMeta> = {};
  for (const [role, bytes] of [...roles].sort(([a], [b]) => (a < b ? -1 : 1)))
    if (role === 'root' || isTargetsRole(role)) meta[role] = describeFile(bytes);
  const expires = new Date(now + SNAPSHOT_LIFETIME).toISOString();
  const signed = { _type: 'Snapshot', expires, meta, version };
  return { role: 'snapshot', version, bytes: signedFileBytes(signed, [signer]), expires };
}

/** A timestamp over `snapshot`. */
export function timestampOf(
  snapshot: Buffer,
  version: number,
  now: number,
  signer: MetadataSigner,
): NewFile {
  const expires = new Date(now + TIMESTAMP_LIFETIME).toISOString();
  const signed = {
    _type: 'Timestamp',
    expires,
    meta: { snapshot: describeFile(snapshot) },
    version,
  };
  return { role: 'timestamp', version, bytes: signedFileBytes(signed, [signer]), expires };
}
