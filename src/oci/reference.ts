/** The reference grammar of the distribution spec: repository names, tags and digests. */
import { BerthError } from './errors.js';

const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** The longest repository name accepted (the same bound distribution uses). */
export const MAX_NAME_LENGTH = 255;

/** True when `name` is a valid repository name (`library/busybox`, `a/b/c`). */
export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

const HOST_RE =
  /^(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::[0-9]{1,5})?|\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?)$/;

/**
 * The repository a Notary GUN names (`registry.example:5000/team/app` → `team/app`; a GUN with no
 * registry host is a repository name itself), or undefined when it names none. A first component
 * is a host when it holds a dot or a port, or is `localhost`, as docker reads references.
 */
export function repositoryOfGun(gun: string): string | undefined {
  const slash = gun.indexOf('/');
  const first = slash < 0 ? gun : gun.slice(0, slash);
  const hostLike = first === 'localhost' || first.includes('.') || first.includes(':');
  if (hostLike && !HOST_RE.test(first)) return undefined;
  const rest = hostLike ? gun.slice(slash + 1) : gun;
  if (hostLike && slash < 0) return undefined;
  return isValidName(rest) ? rest : undefined;
}

/** Returns `name` or throws NAME_INVALID. */
export function assertName(name: string): string {
  if (!isValidName(name)) {
    throw new BerthError(
      'NAME_INVALID',
      `invalid repository name: ${JSON.stringify(name).slice(0, 300)}`,
      { name },
    );
  }
  return name;
}

/** True when `tag` is a valid tag. */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** A validated digest: algorithm and hex-encoded value. */
export interface Digest {
  readonly algorithm: 'sha256' | 'sha512';
  readonly hex: string;
  readonly value: string;
}

const HEX_LENGTH = { sha256: 64, sha512: 128 } as const;

/** True when `value` has the general digest shape `algorithm:encoded`. */
export function looksLikeDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** Parses a digest the registry can verify (sha256 or sha512), or throws DIGEST_INVALID. */
export function parseDigest(value: string): Digest {
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (colon < 0 || !looksLikeDigest(value)) {
    throw new BerthError(
      'DIGEST_INVALID',
      `invalid digest: ${JSON.stringify(value).slice(0, 200)}`,
      { digest: value },
    );
  }
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new BerthError('UNSUPPORTED', `unsupported digest algorithm: ${algorithm}`, {
      digest: value,
    });
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new BerthError('DIGEST_INVALID', `invalid ${algorithm} digest: ${value.slice(0, 200)}`, {
      digest: value,
    });
  }
  return { algorithm, hex, value };
}

/** A manifest reference from a URL: either a tag or a digest. */
export type ManifestReference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

/** Parses the `<reference>` of `/v2/<name>/manifests/<reference>`. */
export function parseManifestReference(reference: string): ManifestReference {
  if (reference.includes(':')) return { kind: 'digest', digest: parseDigest(reference) };
  if (!isValidTag(reference)) {
    throw new BerthError('TAG_INVALID', `invalid tag: ${JSON.stringify(reference).slice(0, 200)}`, {
      tag: reference,
    });
  }
  return { kind: 'tag', tag: reference };
}
