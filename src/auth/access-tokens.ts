/** Managing personal access tokens: create (secret shown once), list with last use, revoke. */
import type { AccessLevel, AccessTokenRecord } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { actsAsAdmin } from './principal.js';
import { DirectoryBase, type Actor } from './directory-common.js';
import { randomSecret, tokenText } from './secrets.js';

/** An access token as the API shows it (never its secret). */
export interface AccessTokenView {
  id: number;
  name: string;
  level: AccessLevel;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  lastUsedFrom: string | null;
  revokedAt: string | null;
  state: 'active' | 'expired' | 'revoked';
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

function tokenView(t: AccessTokenRecord): AccessTokenView {
  const state =
    t.revokedAt !== null
      ? 'revoked'
      : t.expiresAt !== null && t.expiresAt <= Date.now()
        ? 'expired'
        : 'active';
  return {
    id: t.id,
    name: t.name,
    level: t.level,
    createdAt: iso(t.createdAt)!,
    expiresAt: iso(t.expiresAt),
    lastUsedAt: iso(t.lastUsedAt),
    lastUsedFrom: t.lastUsedFrom,
    revokedAt: iso(t.revokedAt),
    state,
  };
}

/** Access token management, checked and audited. */
export class AccessTokenDirectory extends DirectoryBase {
  private async owner(actor: Actor, user: string | undefined) {
    const name = user ?? actor.principal.name;
    if (name !== actor.principal.name) this.requireAdmin(actor, `manage ${name}'s tokens`);
    return this.user(name);
  }

  /** Creates a token for the actor (or, for administrators, `user`); the secret is returned once. */
  async create(
    actor: Actor,
    options: { user?: string; name: string; level: AccessLevel; expiresInDays?: number | null },
  ): Promise<AccessTokenView & { token: string; user: string }> {
    this.requireFullCredential(actor, 'create access tokens');
    const account = await this.owner(actor, options.user);
    if (!/^[\w .:@-]{1,64}$/.test(options.name))
      throw new BerthError(
        'INVALID_REQUEST',
        'token names are 1 to 64 letters, digits, spaces or ._:@-',
      );
    const days = options.expiresInDays;
    if (days !== undefined && days !== null && (!Number.isFinite(days) || days <= 0 || days > 3650))
      throw new BerthError('INVALID_REQUEST', 'expiresInDays must be between 0 and 3650');
    const { secret, hash } = randomSecret();
    const id = await this.changed<number>(
      actor,
      (made) => ({
        action: 'token.create',
        target: account.name,
        detail: { id: made, name: options.name, level: options.level, expiresInDays: days ?? null },
      }),
      (tx) =>
        tx.credentials.addAccessToken({
          accountId: account.id,
          name: options.name,
          level: options.level,
          secretHash: hash,
          expiresAt: days ? Date.now() + days * 86_400_000 : null,
        }),
    );
    const record = (await this.meta.credentials.accessToken(id))!;
    return { ...tokenView(record), token: tokenText('pat', id, secret), user: account.name };
  }

  /** The actor's (or `user`'s) tokens, newest first. */
  async list(actor: Actor, user?: string): Promise<AccessTokenView[]> {
    const account = await this.owner(actor, user);
    return (await this.meta.credentials.accessTokensOf(account.id)).map(tokenView);
  }

  /** Revokes token `id` (its owner or an administrator); tokens signed from it stop working. */
  async revoke(actor: Actor, id: number): Promise<void> {
    this.requireFullCredential(actor, 'revoke access tokens');
    const token = await this.meta.credentials.accessToken(id);
    const owner = token && (await this.meta.accounts.byId(token.accountId));
    if (!token || !owner || (owner.name !== actor.principal.name && !actsAsAdmin(actor.principal)))
      throw new BerthError('NOT_FOUND', `no access token ${id}`);
    const entry = { action: 'token.revoke', target: owner.name, detail: { id } };
    await this.changed(actor, entry, async (tx) => {
      if (!(await tx.credentials.revokeAccessToken(id)))
        throw new BerthError('CONFLICT', `access token ${id} is already revoked`);
    });
  }

  /**
   * A short-lived token of `owner` (`write` by default, or `read`) good for `repository` alone —
   * what a build pushes with and what an engine pulls with for the control plane — so it acts
   * with its owner's rights on that one repository and nowhere else.
   */
  async mintRepositoryToken(
    owner: string,
    repository: string,
    ttlMs: number,
    name: string,
    level: 'read' | 'write' = 'write',
  ): Promise<{ id: number; token: string }> {
    const account = await this.meta.accounts.byName(owner);
    if (!account || account.kind !== 'user' || account.disabled)
      throw new BerthError('DENIED', `${owner} has no active account to act with`);
    const { secret, hash } = randomSecret();
    const id = await this.meta.credentials.addAccessToken({
      accountId: account.id,
      name,
      level,
      secretHash: hash,
      expiresAt: Date.now() + ttlMs,
      repository,
    });
    return { id, token: tokenText('pat', id, secret) };
  }

  /** Revokes a token made by `mintRepositoryToken`. */
  async revokeRepositoryToken(id: number): Promise<void> {
    await this.meta.credentials.revokeAccessToken(id);
    this.parts.authenticator.invalidate();
  }
}
