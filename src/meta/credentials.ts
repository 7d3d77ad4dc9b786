/** Personal access tokens and refresh tokens, stored as hashes of their secrets. */
import type { Kysely } from 'kysely';
import type { AccessLevel } from './accounts.js';
import type { Database } from './schema.js';

/** A personal access token (without its secret). */
export interface AccessTokenRecord {
  id: number;
  accountId: number;
  name: string;
  level: AccessLevel;
  secretHash: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  lastUsedFrom: string | null;
  revokedAt: number | null;
  /** The one repository the token is for (a build's push credential), or null for all. */
  repository: string | null;
}

/** A refresh token (without its secret). */
export interface RefreshTokenRecord {
  id: number;
  accountId: number;
  clientId: string | null;
  secretHash: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** Reads and writes access and refresh tokens. */
export class CredentialStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records a new access token and returns its id. */
  async addAccessToken(
    token: Pick<AccessTokenRecord, 'accountId' | 'name' | 'level' | 'secretHash' | 'expiresAt'> & {
      repository?: string | null;
    },
  ): Promise<number> {
    const row = await this.db
      .insertInto('access_tokens')
      .values({
        account_id: token.accountId,
        name: token.name,
        level: token.level,
        secret_hash: token.secretHash,
        created_at: Date.now(),
        expires_at: token.expiresAt,
        repository: token.repository ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Access token `id`, or undefined. */
  async accessToken(id: number): Promise<AccessTokenRecord | undefined> {
    const rows = await this.accessTokens((q) => q.where('id', '=', id));
    return rows[0];
  }

  /** The access tokens of `accountId`, newest first. */
  async accessTokensOf(accountId: number): Promise<AccessTokenRecord[]> {
    return this.accessTokens((q) => q.where('account_id', '=', accountId));
  }

  private async accessTokens(
    filter: (
      q: ReturnType<CredentialStore['selectTokens']>,
    ) => ReturnType<CredentialStore['selectTokens']>,
  ): Promise<AccessTokenRecord[]> {
    const rows = await filter(this.selectTokens()).orderBy('id', 'desc').execute();
    return rows.map((r) => ({
      id: r.id,
      accountId: r.account_id,
      name: r.name,
      level: r.level as AccessLevel,
      secretHash: r.secret_hash,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      lastUsedAt: r.last_used_at,
      lastUsedFrom: r.last_used_from,
      revokedAt: r.revoked_at,
      repository: r.repository,
    }));
  }

  private selectTokens() {
    return this.db.selectFrom('access_tokens').selectAll();
  }

  /** Notes that access token `id` was used from `address`. */
  async touchAccessToken(id: number, address: string | null): Promise<void> {
    await this.db
      .updateTable('access_tokens')
      .set({ last_used_at: Date.now(), last_used_from: address })
      .where('id', '=', id)
      .execute();
  }

  /** Revokes access token `id`; true when it was live. */
  async revokeAccessToken(id: number): Promise<boolean> {
    const result = await this.db
      .updateTable('access_tokens')
      .set({ revoked_at: Date.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Records a new refresh token and returns its id. */
  async addRefreshToken(
    token: Pick<RefreshTokenRecord, 'accountId' | 'clientId' | 'secretHash' | 'expiresAt'>,
  ): Promise<number> {
    const row = await this.db
      .insertInto('refresh_tokens')
      .values({
        account_id: token.accountId,
        client_id: token.clientId,
        secret_hash: token.secretHash,
        created_at: Date.now(),
        expires_at: token.expiresAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Refresh token `id`, or undefined. */
  async refreshToken(id: number): Promise<RefreshTokenRecord | undefined> {
    const r = await this.db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return (
      r && {
        id: r.id,
        accountId: r.account_id,
        clientId: r.client_id,
        secretHash: r.secret_hash,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        revokedAt: r.revoked_at,
      }
    );
  }

  /** Revokes refresh token `id`; true when it was live. */
  async revokeRefreshToken(id: number): Promise<boolean> {
    const r = await this.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: Date.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Revokes every refresh token of `accountId` (after a password change, say). */
  async revokeRefreshTokensOf(accountId: number): Promise<void> {
    await this.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: Date.now() })
      .where('account_id', '=', accountId)
      .where('revoked_at', 'is', null)
      .execute();
  }
}
