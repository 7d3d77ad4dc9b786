/**
 * TUF keys and signatures as Notary uses them: key IDs over canonical JSON, public keys of every
 * key type, and signature checks for the ecdsa (raw r||s), eddsa and rsapss methods.
 */
import {
  constants,
  createHash,
  createPublicKey,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import type { RoleKeys, SignedFile, TufKey } from './model.js';

/** The canonical JSON bytes of `value` (OLPC canonical JSON, as Notary signs). */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

/** A key's ID: hex sha256 of the canonical `{"keytype","keyval":{"private":null,"public"}}`. */
export function keyIdOf(key: TufKey): string {
  const shape = { keytype: key.keytype, keyval: { private: null, public: key.keyval.public } };
  return createHash('sha256').update(canonicalBytes(shape)).digest('hex');
}

/** Whether `key` is an X.509 certificate key (`ecdsa-x509`, `rsa-x509`). */
export function isCertificateKey(key: TufKey): boolean {
  return key.keytype === 'ecdsa-x509' || key.keytype === 'rsa-x509';
}

/** The certificate of an X.509 key; throws when it is not one. */
export function certificateOf(key: TufKey): X509Certificate {
  return new X509Certificate(Buffer.from(key.keyval.public, 'base64').toString('utf8'));
}

/** The node public key behind `key`; throws for unknown types or bad encodings. */
export function publicKeyOf(key: TufKey): KeyObject {
  const raw = Buffer.from(key.keyval.public, 'base64');
  switch (key.keytype) {
    case 'ecdsa':
    case 'rsa':
      return createPublicKey({ key: raw, format: 'der', type: 'spki' });
    case 'ed25519':
      if (raw.length !== 32) throw new Error('an ed25519 key has 32 bytes');
      return createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
        format: 'jwk',
      });
    case 'ecdsa-x509':
    case 'rsa-x509':
      return certificateOf(key).publicKey;
    default:
      throw new Error(`unknown key type ${key.keytype.slice(0, 40)}`);
  }
}

/** Whether `sig` (base64) is a valid signature by `key` over `data` with `method`. */
export function verifySignature(
  key: KeyObject,
  method: string,
  data: Buffer,
  sig: string,
): boolean {
  const signature = Buffer.from(sig, 'base64');
  try {
    switch (method) {
      case 'ecdsa':
        return (
          key.asymmetricKeyType === 'ec' &&
          verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
        );
      case 'eddsa':
        return key.asymmetricKeyType === 'ed25519' && verify(null, data, key, signature);
      case 'rsapss':
      case 'pycrypto-pkcs#1 pss':
        return (
          key.asymmetricKeyType === 'rsa' &&
          verify(
            'sha256',
            data,
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
            signature,
          )
        );
      case 'rsapkcs1v15':
        return (
          key.asymmetricKeyType === 'rsa' &&
          verify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature)
        );
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/**
 * The IDs of the keys among `allowed` that validly signed `file` (each key counted once). Keys
 * whose listed ID is not their real ID count for nothing.
 */
export function validSigners(
  file: SignedFile<unknown>,
  keys: Record<string, TufKey>,
  allowed: RoleKeys | { keyids: string[] },
): Set<string> {
  const data = canonicalBytes(file.signed);
  const permitted = new Set(allowed.keyids);
  const valid = new Set<string>();
  for (const sig of file.signatures) {
    if (!permitted.has(sig.keyid) || valid.has(sig.keyid)) continue;
    const key = keys[sig.keyid];
    if (!key || keyIdOf(key) !== sig.keyid) continue;
    let publicKey: KeyObject;
    try {
      publicKey = publicKeyOf(key);
    } catch {
      continue;
    }
    if (verifySignature(publicKey, sig.method, data, sig.sig)) valid.add(sig.keyid);
  }
  return valid;
}
