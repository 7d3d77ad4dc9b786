/** Table shapes of content trust: TUF files, keys, changes and signed-tag policies. */
import type { Generated } from 'kysely';

export interface TrustFilesTable {
  id: Generated<number>;
  /** The Notary GUN, registry host included (`registry.example:5000/team/app`). */
  gun: string;
  /** The repository the GUN names on this registry. */
  repository: string;
  role: string;
  version: number;
  /** Lowercase hex digests of `content`. */
  sha256: string;
  sha512: string;
  content: Uint8Array;
  expires_at: number;
  created_at: number;
}

export interface TrustKeysTable {
  id: Generated<number>;
  gun: string;
  role: string;
  key_id: string;
  algorithm: string;
  /** base64 DER SubjectPublicKeyInfo. */
  public_key: string;
  /** The private key, encrypted with the trust master key. */
  private_key: string;
  created_at: number;
}

export interface TrustChangesTable {
  id: Generated<number>;
  gun: string;
  version: number;
  sha256: string;
  /** `update` or `deletion`. */
  category: string;
  created_at: number;
}

export interface TrustPoliciesTable {
  /** A repository (`team/app`) or a namespace with a trailing slash (`team/`). */
  scope: string;
  /** JSON array of required signer names; empty: any valid signature. */
  signers: string;
  created_by: string | null;
  created_at: number;
  /** `enforce` (refuse pulls), `warn` (serve with a warning) or `audit` (serve, record). */
  mode: Generated<string>;
  /** JSON array of the signature kinds that count: `notary`, `cosign`, `notation`. */
  kinds: Generated<string>;
  /** How many of `signers` must have signed (null: all of them). */
  threshold: number | null;
}
