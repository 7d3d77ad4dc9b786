/** Token signing keys, shared through the database so every replica signs and verifies alike. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A signing key pair as JWK JSON text. */
export interface SigningKeyRecord {
  kid: string;
  privateJwk: string;
  publicJwk: string;
  createdAt: number;
  retiredAt: number | null;
}

/** Reads and writes signing keys. */
export class SigningKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every key, newest first. */
  async all(): Promise<SigningKeyRecord[]> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((r) => ({
      kid: r.kid,
      privateJwk: r.private_jwk,
      publicJwk: r.public_jwk,
      createdAt: r.created_at,
      retiredAt: r.retired_at,
    }));
  }

  /** Replaces the stored private key text of `kid` (sealing one kept in the clear). */
  async setPrivate(kid: string, privateJwk: string): Promise<void> {
    await this.db
      .updateTable('signing_keys')
      .set({ private_jwk: privateJwk })
      .where('kid', '=', kid)
      .execute();
  }

  /** Retires every key but `keep` at `at` (ms), unless retired earlier; forgets keys retired before `forgetBefore`. */
  async retireOthers(keep: string, at: number, forgetBefore: number): Promise<void> {
    await this.db
      .updateTable('signing_keys')
      .set({ retired_at: at })
      .where('kid', '!=', keep)
      .where('retired_at', 'is', null)
      .execute();
    await this.db.deleteFrom('signing_keys').where('retired_at', '<', forgetBefore).execute();
  }

  /** Stores a new key. */
  async add(key: Omit<SigningKeyRecord, 'retiredAt'>): Promise<void> {
    await this.db
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        private_jwk: key.privateJwk,
        public_jwk: key.publicJwk,
        created_at: key.createdAt,
        retired_at: null,
      })
      .execute();
  }
}
