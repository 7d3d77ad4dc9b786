/**
 * Which tags a GUN's trust data signs, as docker reads it: `targets/releases` first, then
 * `targets`; who signed (delegation names whose keys signed the file) and the manifest digest.
 */
import { asTargets, parseEnvelope, type SignedFile, type TargetsSigned } from './model.js';
import { validSigners } from './keys.js';

/** A signed tag. */
export interface TagSignature {
  tag: string;
  /** `sha256:<hex>` of the signed manifest. */
  digest: string;
  size: number;
  /** `targets/releases` or `targets`. */
  role: string;
  /** Who signed: delegation names (`alice`), or `repository key` for the targets role itself. */
  signers: string[];
}

/** The role files docker trusts for tags, in the order it prefers them. */
export const TAG_ROLES = ['targets/releases', 'targets'] as const;

/** The manifest digest a targets entry names, when it has a sha256. */
function digestOfEntry(hashes: Record<string, string>): string | undefined {
  const sha = hashes.sha256;
  if (!sha) return undefined;
  const raw = Buffer.from(sha, 'base64');
  return raw.length === 32 ? `sha256:${raw.toString('hex')}` : undefined;
}

function parse(bytes: Buffer | undefined): SignedFile<TargetsSigned> | undefined {
  if (!bytes) return undefined;
  try {
    return asTargets(parseEnvelope(bytes), (m) => new Error(m));
  } catch {
    return undefined;
  }
}

function signersOf(
  role: string,
  file: SignedFile<TargetsSigned>,
  targets: SignedFile<TargetsSigned> | undefined,
): string[] {
  if (role === 'targets') return ['repository key'];
  const delegations = targets?.signed.delegations;
  if (!delegations) return [];
  const declared = delegations.roles.find((r) => r.name === role);
  const signedBy = validSigners(file, delegations.keys, { keyids: declared?.keyids ?? [] });
  const names = new Set<string>();
  for (const other of delegations.roles) {
    if (other.name === role || other.name.split('/').length !== 2) continue;
    if (other.keyids.some((id) => signedBy.has(id))) names.add(other.name.slice('targets/'.length));
  }
  for (const id of signedBy)
    if (!delegations.roles.some((r) => r.name !== role && r.keyids.includes(id)))
      names.add(`key ${id.slice(0, 12)}`);
  return [...names].sort();
}

/** The signed tags of one GUN's current files (role → bytes); unexpired roles only. */
export function signedTags(current: Map<string, Buffer>, now: number): Map<string, TagSignature> {
  const out = new Map<string, TagSignature>();
  const targets = parse(current.get('targets'));
  for (const role of TAG_ROLES) {
    const file = role === 'targets' ? targets : parse(current.get(role));
    if (!file || Date.parse(file.signed.expires) <= now) continue;
    const signers = signersOf(role, file, targets);
    for (const [tag, entry] of Object.entries(file.signed.targets)) {
      const digest = digestOfEntry(entry.hashes);
      if (!digest || out.has(tag)) continue;
      out.set(tag, { tag, digest, size: entry.length, role, signers });
    }
  }
  return out;
}
