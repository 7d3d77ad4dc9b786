/**
 * Notary's flavour of TUF metadata: the shapes of root, targets, snapshot and timestamp files,
 * parsed from their exact bytes (which are kept: hashes and lengths are over them).
 */
import path from 'node:path/posix';
import { z } from 'zod';
import { trustError } from './errors.js';

/** A public key as it appears in metadata. */
export const tufKeySchema = z.looseObject({
  keytype: z.string(),
  keyval: z.looseObject({ public: z.string(), private: z.string().nullish() }),
});
/** A public key as it appears in metadata. */
export type TufKey = z.infer<typeof tufKeySchema>;

const signatureSchema = z.looseObject({ keyid: z.string(), method: z.string(), sig: z.string() });
/** One signature of a metadata file. */
export type TufSignature = z.infer<typeof signatureSchema>;

const roleKeysSchema = z.looseObject({
  keyids: z.array(z.string()),
  threshold: z.int().min(1),
});
/** The keys and threshold of a top-level role. */
export type RoleKeys = z.infer<typeof roleKeysSchema>;

const common = {
  version: z.int().min(1),
  expires: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not an RFC 3339 time'),
};

const rootSchema = z.looseObject({
  _type: z.literal('Root'),
  ...common,
  keys: z.record(z.string(), tufKeySchema),
  roles: z.looseObject({
    root: roleKeysSchema,
    targets: roleKeysSchema,
    snapshot: roleKeysSchema,
    timestamp: roleKeysSchema,
  }),
  consistent_snapshot: z.boolean().optional(),
});
/** The signed part of root.json. */
export type RootSigned = z.infer<typeof rootSchema>;

const fileMetaSchema = z.looseObject({
  hashes: z.record(z.string(), z.string()),
  length: z.int().min(0),
});
/** Hashes (base64) and length of a file, as snapshot, timestamp and targets list them. */
export type FileMeta = z.infer<typeof fileMetaSchema>;

const delegationRoleSchema = z.looseObject({
  name: z.string(),
  keyids: z.array(z.string()),
  threshold: z.int().min(1),
  paths: z.array(z.string()).optional(),
});
/** A delegated role as its parent declares it. */
export type DelegationRole = z.infer<typeof delegationRoleSchema>;

const targetsSchema = z.looseObject({
  _type: z.literal('Targets'),
  ...common,
  targets: z.record(z.string(), fileMetaSchema),
  delegations: z
    .looseObject({
      keys: z.record(z.string(), tufKeySchema),
      roles: z.array(delegationRoleSchema),
    })
    .optional(),
});
/** The signed part of targets.json and of delegations. */
export type TargetsSigned = z.infer<typeof targetsSchema>;

const snapshotSchema = z.looseObject({
  _type: z.literal('Snapshot'),
  ...common,
  meta: z.record(z.string(), fileMetaSchema),
});
/** The signed part of snapshot.json. */
export type SnapshotSigned = z.infer<typeof snapshotSchema>;

const timestampSchema = z.looseObject({
  _type: z.literal('Timestamp'),
  ...common,
  meta: z.looseObject({ snapshot: fileMetaSchema }),
});
/** The signed part of timestamp.json. */
export type TimestampSigned = z.infer<typeof timestampSchema>;

/** A parsed metadata file: the signed object, its signatures and the exact bytes. */
export interface SignedFile<T> {
  signed: T;
  signatures: TufSignature[];
  bytes: Buffer;
}

const DELEGATION_NAME = /^targets\/[-a-z0-9_/]+$/;

/** Whether `role` is a role name a GUN can hold: a top-level role or a clean delegation name. */
export function isValidRole(role: string): boolean {
  if (role === 'root' || role === 'targets' || role === 'snapshot' || role === 'timestamp')
    return true;
  return role.length < 256 && DELEGATION_NAME.test(role) && path.normalize(role) === role;
}

/** `targets/a/b` → `targets/a`; `targets/a` → `targets`. */
export function parentRole(role: string): string {
  return role.slice(0, role.lastIndexOf('/'));
}

/** Whether `role` is `targets` or a delegation. */
export function isTargetsRole(role: string): boolean {
  return role === 'targets' || role.startsWith('targets/');
}

const envelopeSchema = z.looseObject({
  signed: z.looseObject({}),
  signatures: z.array(signatureSchema),
});

/** The envelope of a file: throws MALFORMED_JSON when it is not `{"signed","signatures"}`. */
export function parseEnvelope(bytes: Buffer): SignedFile<Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw trustError('MALFORMED_JSON', 'metadata is not JSON');
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success)
    throw trustError('MALFORMED_JSON', 'metadata is not {"signed":…,"signatures":[…]}');
  return { signed: parsed.data.signed, signatures: parsed.data.signatures, bytes };
}

function parseAs<T>(
  schema: z.ZodType<T>,
  file: SignedFile<Record<string, unknown>>,
  fail: (msg: string) => Error,
): SignedFile<T> {
  const parsed = schema.safeParse(file.signed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`${issue?.path.join('.') || 'signed'}: ${issue?.message ?? 'invalid'}`);
  }
  return { ...file, signed: parsed.data };
}

/** Parses a root file; `fail` makes the error for a wrong shape. */
export const asRoot = (f: SignedFile<Record<string, unknown>>, fail: (m: string) => Error) =>
  parseAs(rootSchema, f, fail);
/** Parses a targets or delegation file. */
export const asTargets = (f: SignedFile<Record<string, unknown>>, fail: (m: string) => Error) =>
  parseAs(targetsSchema, f, fail);
/** Parses a snapshot file. */
export const asSnapshot = (f: SignedFile<Record<string, unknown>>, fail: (m: string) => Error) =>
  parseAs(snapshotSchema, f, fail);
/** Parses a timestamp file. */
export const asTimestamp = (f: SignedFile<Record<string, unknown>>, fail: (m: string) => Error) =>
  parseAs(timestampSchema, f, fail);
