/**
 * The ES256 keys that sign registry and session tokens: kept in the database sealed with the
 * master key (never in the clear), published as a JWKS, and rotated with the old key verifying
 * until the tokens it signed have expired.
 */
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type KeyObject,
} from 'jose';
import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import { SecretBox } from '../kit/index.js';
import type { Meta, SigningKeyRecord } from '../meta/index.js';

type Key = CryptoKey | KeyObject;

/**
 * A node:crypto KeyObject for the P-256 key `jwk` (private when it holds `d`): jose signs and
 * verifies with it faster than with a CryptoKey, and importing it here, synchronously, keeps Web
 * Crypto unloaded: jose's `importJWK` took 5–13 ms of every start with auth, this 0.6–1.2.
 */
function importKey(jwk: JWK): Key {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new Error('a signing key must be a P-256 key');
  const key = { key: jwk as JsonWebKey, format: 'jwk' } as const;
  return jwk.d === undefined ? createPublicKey(key) : createPrivateKey(key);
}

/** A loaded signing key. */
interface LoadedKey {
  kid: string;
  privateKey: Key;
  publicKey: Key;
  publicJwk: JWK;
  retiredAt: number | null;
}

const label = (kid: string): string => `token-signing-key\n${kid}`;

/** The token signing keys: the newest unretired one signs, every key not yet retired verifies. */
export class TokenKeys {
  private keys: LoadedKey[] = [];

  private constructor(
    private readonly meta: Meta,
    private readonly box: SecretBox,
    private readonly clock: () => number,
  ) {}

  /**
   * Loads the keys, creating the first one when the database has none, and seals any private
   * key an older version kept in the clear.
   */
  static async open(meta: Meta, box: SecretBox, clock = Date.now): Promise<TokenKeys> {
    const keys = new TokenKeys(meta, box, clock);
    const rows = await meta.signingKeys.all();
    for (const row of rows)
      if (!SecretBox.isSealed(row.privateJwk))
        await meta.signingKeys.setPrivate(
          row.kid,
          box.seal(Buffer.from(row.privateJwk), label(row.kid)),
        );
    if (rows.length === 0) {
      // Made inside a write transaction, re-checked: replicas starting together share one key.
      const made = await keys.makeKey();
      await meta.writeTransaction(async (m) => {
        if ((await m.signingKeys.all()).length === 0) await m.signingKeys.add(made);
      });
    }
    await keys.reload();
    return keys;
  }

  private async makeKey(): Promise<Omit<SigningKeyRecord, 'retiredAt'>> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = JSON.stringify(await exportJWK(privateKey));
    return {
      kid,
      privateJwk: this.box.seal(Buffer.from(privateJwk), label(kid)),
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg: 'ES256', use: 'sig' }),
      createdAt: this.clock(),
    };
  }

  /**
   * Makes a new signing key; the others verify for `graceMs` more (the longest a token they
   * signed lives) and are then retired. Returns the new key's ID.
   */
  async rotate(graceMs: number): Promise<string> {
    const made = await this.makeKey();
    const now = this.clock();
    await this.meta.writeTransaction(async (m) => {
      await m.signingKeys.add(made);
      await m.signingKeys.retireOthers(made.kid, now + graceMs, now - 86_400_000);
    });
    await this.reload();
    return made.kid;
  }

  /** Re-reads the keys from the database (another replica or `berth keys rotate` may have changed them). */
  async reload(): Promise<void> {
    const now = this.clock();
    const rows = (await this.meta.signingKeys.all()).filter(
      (r) => r.retiredAt === null || r.retiredAt > now,
    );
    this.keys = rows.map((r) => {
      const publicJwk = JSON.parse(r.publicJwk) as JWK;
      const privateJwk = SecretBox.isSealed(r.privateJwk)
        ? this.box.open(r.privateJwk, label(r.kid)).toString('utf8')
        : r.privateJwk;
      return {
        kid: r.kid,
        privateKey: importKey(JSON.parse(privateJwk) as JWK),
        publicKey: importKey(publicJwk),
        publicJwk,
        retiredAt: r.retiredAt,
      };
    });
  }

  /** The key that signs new tokens: the newest one not being retired. */
  get signing(): { kid: string; key: Key } {
    const newest = this.keys.find((k) => k.retiredAt === null) ?? this.keys[0];
    if (!newest) throw new Error('no token signing key loaded');
    return { kid: newest.kid, key: newest.privateKey };
  }

  private lastLookup = 0;

  /**
   * The public key `kid`, re-reading the keys first when it is unknown (another process may have
   * rotated), at most once every five seconds.
   */
  async lookup(kid: string | undefined): Promise<Key | undefined> {
    const known = this.verifying(kid);
    if (known || this.clock() - this.lastLookup < 5_000) return known;
    this.lastLookup = this.clock();
    await this.reload();
    return this.verifying(kid);
  }

  /** The public key `kid` while it verifies, or undefined. */
  verifying(kid: string | undefined): Key | undefined {
    const key = this.keys.find((k) => k.kid === kid);
    if (!key || (key.retiredAt !== null && key.retiredAt <= this.clock())) return undefined;
    return key.publicKey;
  }

  /** The public keys that still verify, as a JSON Web Key Set. */
  jwks(): { keys: JWK[] } {
    const now = this.clock();
    return {
      keys: this.keys
        .filter((k) => k.retiredAt === null || k.retiredAt > now)
        .map((k) => k.publicJwk),
    };
  }
}
