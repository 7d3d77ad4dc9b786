/**
 * Validating a publish the way notary-server does, all or nothing: roots (certificates, old and
 * new root signatures, versions), targets and delegations (parent's keys and thresholds),
 * snapshots (keys, hashes over the exact bytes), expiry; then the server's own snapshot (when it
 * holds the snapshot key) and timestamp. No I/O: the caller loads state and stores the result.
 */
import { rootKeyProblem, type SignatureAlgorithmReader } from './certificates.js';
import { invalidUpdate, trustError, type ValidationFailure } from './errors.js';
import { validSigners } from './keys.js';
import { describeFile, snapshotOf, timestampOf, type NewFile } from './server-metadata.js';
import type { MetadataSigner } from './server-keys.js';
import {
  asRoot,
  asSnapshot,
  asTargets,
  isTargetsRole,
  isValidRole,
  parentRole,
  parseEnvelope,
  type RoleKeys,
  type RootSigned,
  type SignedFile,
  type TargetsSigned,
  type TufKey,
} from './model.js';

/** Everything a publish is checked against, and how the server signs. */
export interface PublishInput {
  gun: string;
  now: number;
  /** The newest stored bytes of each role of the GUN. */
  current: Map<string, Buffer>;
  /** The uploaded files by role (names already validated). */
  parts: Map<string, Buffer>;
  /** A server-held key among `keyids` of `role`, if the server holds one. */
  serverSigner(role: 'snapshot' | 'timestamp', keyids: string[]): MetadataSigner | undefined;
  /** Reads the signature algorithm of a root key's certificate. */
  signatureAlgorithmOf: SignatureAlgorithmReader;
}

type Parsed = SignedFile<Record<string, unknown>>;

function fail(name: ValidationFailure) {
  return (msg: string) => invalidUpdate(name, msg);
}

function versionOf(bytes: Buffer | undefined): number {
  if (!bytes) return 0;
  const v = (parseEnvelope(bytes).signed as { version?: unknown }).version;
  return typeof v === 'number' ? v : 0;
}

function requireNewer(role: string, version: number, current: Map<string, Buffer>): void {
  if (version <= versionOf(current.get(role)))
    throw trustError(
      'VERSION',
      `${role} version ${version} is not newer than the stored version ${versionOf(current.get(role))}`,
    );
}

function requireUnexpired(role: string, expires: string, now: number, name: ValidationFailure) {
  if (Date.parse(expires) <= now) throw invalidUpdate(name, `${role} expired at ${expires}`);
}

function requireThreshold(
  role: string,
  file: SignedFile<unknown>,
  keys: Record<string, TufKey>,
  roleKeys: RoleKeys,
  name: ValidationFailure,
  whose = '',
): void {
  const valid = validSigners(file, keys, roleKeys).size;
  if (valid < roleKeys.threshold)
    throw invalidUpdate(
      name,
      `${role} has ${valid} valid signature(s)${whose}, its threshold is ${roleKeys.threshold}`,
    );
}

function checkRoot(
  gun: string,
  stored: SignedFile<RootSigned> | undefined,
  next: SignedFile<RootSigned>,
  now: number,
  signatureAlgorithmOf: SignatureAlgorithmReader,
): void {
  const bad = fail('ErrBadRoot');
  const { signed } = next;
  if (stored && signed.version > stored.signed.version + 1)
    throw bad(`root version ${signed.version} skips versions after ${stored.signed.version}`);
  if (!stored && signed.version > 2)
    throw bad(`the first root of a repository has version 1 or 2, not ${signed.version}`);
  for (const [role, roleKeys] of Object.entries(signed.roles))
    for (const id of (roleKeys as RoleKeys).keyids)
      if (!signed.keys[id]) throw bad(`role ${role} lists key ${id} that root does not hold`);
  for (const id of signed.roles.root.keyids) {
    const problem = rootKeyProblem(signed.keys[id]!, gun, now, signatureAlgorithmOf);
    if (problem) throw bad(problem);
  }
  requireUnexpired('root', signed.expires, now, 'ErrBadRoot');
  if (stored)
    requireThreshold(
      'root',
      next,
      stored.signed.keys,
      stored.signed.roles.root,
      'ErrBadRoot',
      ' by the previous root keys',
    );
  requireThreshold(
    'root',
    next,
    signed.keys,
    signed.roles.root,
    'ErrBadRoot',
    ' by its own root keys',
  );
}

/** Whether `name` lies within one of the path prefixes `paths` (`""` admits everything). */
function withinPaths(name: string, paths: string[] | undefined): boolean {
  return (paths ?? []).some((prefix) => name.startsWith(prefix));
}

/**
 * The delegations a targets file declares must be its direct children with valid names, keys it
 * holds and a reachable threshold; a nested delegation's paths must lie within its own paths.
 */
function checkDeclarations(
  role: string,
  file: SignedFile<TargetsSigned>,
  ownPaths: string[] | undefined,
): void {
  const bad = fail('ErrBadTargets');
  const delegations = file.signed.delegations;
  if (!delegations) return;
  for (const d of delegations.roles) {
    if (!isValidRole(d.name) || parentRole(d.name) !== role)
      throw bad(`${role} declares ${d.name.slice(0, 200)}, which is not a delegation of it`);
    for (const id of d.keyids)
      if (!delegations.keys[id])
        throw bad(`${role} delegates ${d.name} to key ${id} it does not hold`);
    if (d.threshold > new Set(d.keyids).size)
      throw bad(`${d.name} has threshold ${d.threshold} with only ${d.keyids.length} key(s)`);
    if (role !== 'targets')
      for (const p of d.paths ?? [])
        if (!withinPaths(p, ownPaths))
          throw bad(`${d.name} may sign ${JSON.stringify(p)}, outside the paths of ${role}`);
  }
}

/** Depth-first order: `targets` before `targets/a` before `targets/a/b`. */
function byDepth(a: string, b: string): number {
  return a.split('/').length - b.split('/').length || a.localeCompare(b);
}

function checkTargets(
  input: PublishInput,
  root: RootSigned,
  parsed: Map<string, Parsed>,
): Map<string, SignedFile<TargetsSigned>> {
  const bad = fail('ErrBadTargets');
  const updated = new Map<string, SignedFile<TargetsSigned>>();
  const load = (role: string): SignedFile<TargetsSigned> | undefined => {
    const fresh = updated.get(role);
    if (fresh) return fresh;
    const bytes = input.current.get(role);
    return bytes && asTargets(parseEnvelope(bytes), bad);
  };
  for (const role of [...parsed.keys()].filter(isTargetsRole).sort(byDepth)) {
    const file = asTargets(parsed.get(role)!, bad);
    let paths: string[] | undefined = [''];
    if (role === 'targets') {
      requireThreshold(role, file, root.keys, root.roles.targets, 'ErrBadTargets');
    } else {
      const parentName = parentRole(role);
      const parent = load(parentName);
      if (!parent) throw bad(`${role} is delegated by ${parentName}, which does not exist`);
      const declared = parent.signed.delegations?.roles.find((r) => r.name === role);
      if (!declared) throw bad(`${parentName} does not delegate to ${role}`);
      requireThreshold(role, file, parent.signed.delegations!.keys, declared, 'ErrBadTargets');
      paths = declared.paths;
      for (const name of Object.keys(file.signed.targets))
        if (!withinPaths(name, paths))
          throw bad(`${role} lists ${JSON.stringify(name.slice(0, 200))} outside its paths`);
    }
    checkDeclarations(role, file, paths);
    requireUnexpired(role, file.signed.expires, input.now, 'ErrBadTargets');
    requireNewer(role, file.signed.version, input.current);
    updated.set(role, file);
  }
  return updated;
}

function checkSnapshot(
  input: PublishInput,
  root: RootSigned,
  file: Parsed,
  newBytes: Map<string, Buffer>,
): void {
  const bad = fail('ErrBadSnapshot');
  const snapshot = asSnapshot(file, bad);
  requireThreshold('snapshot', snapshot, root.keys, root.roles.snapshot, 'ErrBadSnapshot');
  requireUnexpired('snapshot', snapshot.signed.expires, input.now, 'ErrBadSnapshot');
  requireNewer('snapshot', snapshot.signed.version, input.current);
  for (const role of newBytes.keys())
    if (!snapshot.signed.meta[role]) throw bad(`snapshot does not list the updated ${role}`);
  for (const [role, meta] of Object.entries(snapshot.signed.meta)) {
    const bytes = newBytes.get(role) ?? input.current.get(role);
    if (!bytes) throw bad(`snapshot lists ${role}, which does not exist`);
    const actual = describeFile(bytes);
    if (meta.length !== actual.length) throw bad(`snapshot has the wrong length for ${role}`);
    const hashes = Object.entries(meta.hashes);
    if (hashes.length === 0) throw bad(`snapshot lists no hash for ${role}`);
    for (const [algorithm, value] of hashes)
      if (actual.hashes[algorithm as 'sha256'] !== value)
        throw bad(`snapshot's ${algorithm} of ${role} does not match it`);
  }
}

/**
 * The files a publish stores, in order: the uploaded ones, the server's snapshot unless one
 * was uploaded, and a new timestamp. Throws the error notary clients expect when invalid.
 */
export function planPublish(input: PublishInput): NewFile[] {
  const parsed = new Map<string, Parsed>();
  for (const [role, bytes] of input.parts)
    if (role !== 'timestamp') parsed.set(role, parseEnvelope(bytes));
  if (parsed.size === 0) throw trustError('MALFORMED_UPLOAD', 'the upload holds no metadata');

  const storedRootBytes = input.current.get('root');
  const storedRoot = storedRootBytes && asRoot(parseEnvelope(storedRootBytes), fail('ErrBadRoot'));
  let root = storedRoot;
  const rootPart = parsed.get('root');
  if (rootPart) {
    const next = asRoot(rootPart, fail('ErrBadRoot'));
    requireNewer('root', next.signed.version, input.current);
    checkRoot(input.gun, storedRoot, next, input.now, input.signatureAlgorithmOf);
    root = next;
  }
  if (!root)
    throw invalidUpdate('ErrValidation', 'no pre-existing root and no root provided in update.');
  if (!input.current.get('targets') && !parsed.has('targets'))
    throw invalidUpdate('ErrValidation', 'a new repository needs its targets metadata');

  const timestampSigner = input.serverSigner('timestamp', root.signed.roles.timestamp.keyids);
  if (!timestampSigner) throw invalidUpdate('ErrBadRoot', 'no  timestamp keys exist on the server');

  checkTargets(input, root.signed, parsed);
  const newBytes = new Map<string, Buffer>();
  for (const [role, file] of parsed) if (role !== 'snapshot') newBytes.set(role, file.bytes);

  const files: NewFile[] = [...newBytes].map(([role, bytes]) => ({
    role,
    version: versionOf(bytes),
    bytes,
    expires: String((parseEnvelope(bytes).signed as { expires: string }).expires),
  }));
  let snapshot: NewFile;
  const snapshotPart = parsed.get('snapshot');
  if (snapshotPart) {
    checkSnapshot(input, root.signed, snapshotPart, newBytes);
    snapshot = {
      role: 'snapshot',
      version: versionOf(snapshotPart.bytes),
      bytes: snapshotPart.bytes,
      expires: String(snapshotPart.signed.expires),
    };
  } else {
    const signer = input.serverSigner('snapshot', root.signed.roles.snapshot.keyids);
    if (!signer)
      throw invalidUpdate(
        'ErrBadHierarchy',
        'no snapshot was included in update and server does not hold current snapshot key for repository',
      );
    const roles = new Map(input.current);
    for (const [role, bytes] of newBytes) roles.set(role, bytes);
    snapshot = snapshotOf(roles, versionOf(input.current.get('snapshot')) + 1, input.now, signer);
  }
  const timestamp = timestampOf(
    snapshot.bytes,
    versionOf(input.current.get('timestamp')) + 1,
    input.now,
    timestampSigner,
  );
  return [...files, snapshot, timestamp];
}
