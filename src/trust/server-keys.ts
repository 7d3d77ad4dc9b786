/**
 * Keys the trust service holds (timestamp, and snapshot when the client asks): made here,
 * kept encrypted at rest with a master key (AES-256-GCM), used to sign with ECDSA P-256.
 */
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { SecretBox } from '../kit/index.js';
import { canonicalBytes, keyIdOf } from './keys.js';
import type { TufKey } from './model.js';

/** A key able to sign metadata: its ID as the metadata lists it, and the signing operation. */
export interface MetadataSigner {
  keyId: string;
  /** Signs `data`: base64 signature with `method`. */
  sign(data: Buffer): { method: string; sig: string };
}

/** A freshly made key pair: the public key as metadata holds it, and the private PKCS#8 DER. */
export interface NewServerKey {
  key: TufKey;
  keyId: string;
  privateDer: Buffer;
}

/** Makes an ECDSA P-256 key pair in Notary's `ecdsa` key form. */
export function generateServerKey(): NewServerKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key: TufKey = {
    keytype: 'ecdsa',
    keyval: {
      public: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      private: null,
    },
  };
  return {
    key,
    keyId: keyIdOf(key),
    privateDer: privateKey.export({ format: 'der', type: 'pkcs8' }),
  };
}

/** A signer over an ECDSA private key (raw r||s signatures, method `ecdsa`). */
export function ecdsaSigner(keyId: string, privateKey: KeyObject): MetadataSigner {
  return {
    keyId,
    sign: (data) => ({
      method: 'ecdsa',
      sig: sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64'),
    }),
  };
}

/** Seals and opens private keys with a 32-byte master key. */
export class KeyVault {
  private readonly box: SecretBox;

  constructor(masterKey: Buffer) {
    this.box = new SecretBox(masterKey);
  }

  /** `v1.<iv>.<tag>.<ciphertext>` (base64url) of `privateDer`, bound to `label`. */
  seal(privateDer: Buffer, label: string): string {
    return this.box.seal(privateDer, label);
  }

  /** The private key sealed in `sealed` with `label`; throws when it was altered or mislabelled. */
  open(sealed: string, label: string): KeyObject {
    return createPrivateKey({ key: this.box.open(sealed, label), format: 'der', type: 'pkcs8' });
  }
}

/** A file's bytes: `{"signed":<canonical JSON>,"signatures":[…]}` signed by every signer. */
export function signedFileBytes(signed: unknown, signers: MetadataSigner[]): Buffer {
  const data = canonicalBytes(signed);
  const signatures = signers.map((s) => ({ keyid: s.keyId, ...s.sign(data) }));
  return Buffer.concat([
    Buffer.from('{"signed":'),
    data,
    Buffer.from(`,"signatures":${JSON.stringify(signatures)}}`),
  ]);
}
