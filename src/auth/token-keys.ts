/** The ES256 keys that sign registry tokens, kept in the database and published as a JWKS. */
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
  type KeyObject,
} from 'jose';
import { KeyObject as NodeKeyObject } from 'node:crypto';
import type { Meta } from '../meta/index.js';

type Key = CryptoKey | KeyObject;

/** A node:crypto KeyObject for `jwk`: jose signs and verifies with it faster than with a CryptoKey. */
async function importKey(jwk: JWK): Promise<Key> {
  const key = await importJWK(jwk, 'ES256');
  if (key instanceof Uint8Array) throw new Error('a signing key must be an EC key, not a secret');
  return NodeKeyObject.from(key as CryptoKey);
}

/** A loaded signing key. */
interface LoadedKey {
  kid: string;
  privateKey: Key;
  publicKey: Key;
  publicJwk: JWK;
}

/** The token signing keys: the newest one signs, every unretired one verifies. */
export class TokenKeys {
  private keys: LoadedKey[] = [];

  private constructor(private readonly meta: Meta) {}

  /** Loads the keys, creating the first one when the database has none. */
  static async open(meta: Meta): Promise<TokenKeys> {
    const keys = new TokenKeys(meta);
    await keys.reload();
    if (keys.keys.length === 0) {
      // Made inside a write transaction, re-checked: replicas starting together share one key.
      const made = await keys.makeKey();
      await meta.writeTransaction(async (m) => {
        if ((await m.signingKeys.all()).length === 0) await m.signingKeys.add(made);
      });
      await keys.reload();
    }
    return keys;
  }

  private async makeKey() {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    return {
      kid,
      privateJwk: JSON.stringify(await exportJWK(privateKey)),
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg: 'ES256', use: 'sig' }),
      createdAt: Date.now(),
    };
  }

  /** Re-reads the keys from the database (another replica may have added one). */
  async reload(): Promise<void> {
    const rows = (await this.meta.signingKeys.all()).filter((r) => r.retiredAt === null);
    this.keys = await Promise.all(
      rows.map(async (r) => {
        const publicJwk = JSON.parse(r.publicJwk) as JWK;
        return {
          kid: r.kid,
          privateKey: await importKey(JSON.parse(r.privateJwk) as JWK),
          publicKey: await importKey(publicJwk),
          publicJwk,
        };
      }),
    );
  }

  /** The key that signs new tokens. */
  get signing(): { kid: string; key: Key } {
    const newest = this.keys[0];
    if (!newest) throw new Error('no token signing key loaded');
    return { kid: newest.kid, key: newest.privateKey };
  }

  /** The public key `kid`, or undefined. */
  verifying(kid: string | undefined): Key | undefined {
    return this.keys.find((k) => k.kid === kid)?.publicKey;
  }

  /** The public keys as a JSON Web Key Set. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }
}
