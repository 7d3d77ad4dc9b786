/**
 * Checking credentials: passwords and personal access tokens at login, refresh tokens for
 * `docker login`'s identity token, and whether an earlier credential is still live.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { BerthError } from '../oci/index.js';
import type { AccountRecord, Meta } from '../meta/index.js';
import { TtlCache } from '../registry/index.js';
import { verifyPassword } from './passwords.js';
import { markAudited, type AuditSink } from './ports.js';
import type { UserPrincipal } from './principal.js';
import { FailureLimiter } from './rate-limit.js';
import type { DirectoryAccounts } from './directory-accounts.js';
import { hashSecret, parseTokenText, randomSecret, secretMatches, tokenText } from './secrets.js';

/** How logins are limited and how long refresh tokens live. */
export interface AuthenticatorSettings {
  maxFailures: number;
  failureWindowMs: number;
  refreshTtlMs: number;
  cacheTtlMs: number;
}

const BAD_CREDENTIALS = 'incorrect username or password';
/** Write an access token's last use at most this often. */
const TOUCH_INTERVAL_MS = 60_000;
/** How long a verified name and secret are remembered, so repeated logins skip argon2. */
const VERIFIED_TTL_MS = 300_000;

function principalOf(
  account: AccountRecord,
  session: string,
  cap?: UserPrincipal['cap'],
): UserPrincipal {
  return { kind: 'user', id: account.id, name: account.name, admin: account.isAdmin, cap, session };
}

/** The key failures of `username` from `address` are counted under. */
function accountAtAddress(username: string, address: string | null): string {
  return `${username}\0${address ?? ''}`;
}

/** The session of a password login: it ends when the password changes. */
function passwordSession(account: AccountRecord): string {
  return `pw:${account.id}:${hashSecret(account.passwordHash ?? '').slice(0, 16)}`;
}

/** The session of a directory login: it lasts while the account stays enabled. */
function directorySession(account: AccountRecord): string {
  return `pw:${account.id}:${hashSecret(`directory:${account.provider}`).slice(0, 16)}`;
}

/** Verifies credentials, with rate limiting and audit of every login. */
export class Authenticator {
  /** Failures per (account, address): a guesser elsewhere never locks the owner out. */
  private readonly perAccount: FailureLimiter;
  /** Failures per address, whatever the account: one address guessing many names. */
  private readonly perAddress: FailureLimiter;
  private readonly live: TtlCache<UserPrincipal | null>;
  /** Salted HMACs of recently verified (name, secret) pairs → the session they proved. */
  private readonly verified = new TtlCache<string>(VERIFIED_TTL_MS, 10_000);
  private readonly salt = randomBytes(32);

  constructor(
    private readonly meta: Meta,
    private readonly audit: AuditSink,
    private readonly settings: AuthenticatorSettings,
    /** Directories (LDAP, Active Directory) users may also log in through. */
    private readonly directories?: DirectoryAccounts,
  ) {
    this.perAccount = new FailureLimiter(settings.maxFailures, settings.failureWindowMs);
    // One address may hold several people (a NAT, a CI runner): it gets five times as many tries.
    this.perAddress = new FailureLimiter(settings.maxFailures * 5, settings.failureWindowMs);
    this.live = new TtlCache(settings.cacheTtlMs, 10_000);
  }

  /** Forgets cached session checks and verifications (after a change made through this process). */
  invalidate(): void {
    this.live.clear();
    this.verified.clear();
  }

  /**
   * Refuses (429) a login from `address` when that address has failed too often for `username`,
   * or too often overall. Failures elsewhere never refuse it: the right credential from an
   * address that is not itself failing always gets through.
   */
  private async refuseWhenLimited(username: string, address: string | null): Promise<void> {
    const wait = Math.max(
      this.perAccount.retryAfter(accountAtAddress(username, address)),
      address ? this.perAddress.retryAfter(address) : 0,
    );
    if (wait === 0) return;
    await this.audit.record({
      actor: username,
      action: 'login',
      outcome: 'denied',
      address,
      detail: { reason: 'too many failed logins from this address', retryAfter: wait },
    });
    throw markAudited(
      new BerthError('TOOMANYREQUESTS', `too many failed logins; try again in ${wait} s`, {
        retryAfter: wait,
      }),
    );
  }

  private async fail(username: string, address: string | null, why: string): Promise<never> {
    this.perAccount.fail(accountAtAddress(username, address));
    if (address) this.perAddress.fail(address);
    await this.audit.record({
      actor: username,
      action: 'login',
      outcome: 'failure',
      address,
      detail: { reason: why },
    });
    throw markAudited(new BerthError('UNAUTHORIZED', BAD_CREDENTIALS));
  }

  /**
   * Logs in with a password or a personal access token as the password; throws UNAUTHORIZED.
   * The same name and secret verified in the last five minutes are accepted without argon2 (and
   * without a new audit entry) as long as the session they proved is still live.
   */
  async login(username: string, secret: string, address: string | null): Promise<UserPrincipal> {
    await this.refuseWhenLimited(username, address);
    const key = createHmac('sha256', this.salt)
      .update(username)
      .update('\0')
      .update(secret)
      .digest('base64');
    const remembered = this.verified.get(key);
    if (remembered) {
      const live = await this.sessionPrincipal(remembered);
      if (live && live.name === username) return live;
      this.verified.delete(key);
    }
    const principal = await this.verify(username, secret, address);
    this.verified.set(key, principal.session);
    return principal;
  }

  private async verify(
    username: string,
    secret: string,
    address: string | null,
  ): Promise<UserPrincipal> {
    let account = await this.meta.accounts.byName(username);
    const pat = parseTokenText('pat', secret);
    const directories = this.directories;
    let principal: UserPrincipal | undefined;
    if (pat) principal = await this.viaAccessToken(account, pat, address);
    else if (directories && (!account || account.provider) && (await directories.any())) {
      // A directory decides for its own accounts and for names no account holds yet.
      account = await directories.login(username, secret, account);
      if (account) principal = principalOf(account, directorySession(account));
    } else if (await verifyPassword(account?.kind === 'user' ? account.passwordHash : null, secret))
      principal = principalOf(account!, passwordSession(account!));
    if (!principal) return this.fail(username, address, pat ? 'bad access token' : 'bad password');
    if (account!.disabled) return this.fail(username, address, 'account disabled');
    this.perAccount.clear(accountAtAddress(username, address));
    void this.audit.record({
      actor: username,
      action: 'login',
      outcome: 'success',
      address,
      detail: {
        method: pat
          ? 'access-token'
          : account!.provider
            ? `directory:${account!.provider}`
            : 'password',
      },
    });
    return principal;
  }

  /** Logs in with a personal access token alone (its owner is looked up); throws UNAUTHORIZED. */
  async loginWithAccessToken(secret: string, address: string | null): Promise<UserPrincipal> {
    const pat = parseTokenText('pat', secret);
    const token = pat && (await this.meta.credentials.accessToken(pat.id));
    const owner = token ? await this.meta.accounts.byId(token.accountId) : undefined;
    return this.login(owner?.name ?? '(access token)', secret, address);
  }

  private async viaAccessToken(
    account: AccountRecord | undefined,
    pat: { id: number; secret: string },
    address: string | null,
  ): Promise<UserPrincipal | undefined> {
    const token = await this.meta.credentials.accessToken(pat.id);
    if (!token || !account || token.accountId !== account.id) return undefined;
    if (!secretMatches(pat.secret, token.secretHash)) return undefined;
    if (token.revokedAt !== null || (token.expiresAt !== null && token.expiresAt <= Date.now()))
      return undefined;
    if (!token.lastUsedAt || Date.now() - token.lastUsedAt > TOUCH_INTERVAL_MS)
      await this.meta.credentials.touchAccessToken(token.id, address);
    const principal = principalOf(account, `pat:${token.id}`, token.level);
    return token.repository ? { ...principal, repository: token.repository } : principal;
  }

  /**
   * Makes a refresh token for `principal` (the identity token `docker login` keeps, a web
   * session's): its text, and the principal of the session it starts (which ends with it).
   */
  async issueRefreshToken(
    principal: UserPrincipal,
    clientId: string | null,
  ): Promise<{ text: string; session: UserPrincipal }> {
    const { secret, hash } = randomSecret();
    const id = await this.meta.credentials.addRefreshToken({
      accountId: principal.id,
      clientId,
      secretHash: hash,
      expiresAt: Date.now() + this.settings.refreshTtlMs,
    });
    return { text: tokenText('rt', id, secret), session: { ...principal, session: `rt:${id}` } };
  }

  /** The user a refresh token stands for; throws UNAUTHORIZED when it is unknown, expired or revoked. */
  async refresh(text: string, address: string | null): Promise<UserPrincipal> {
    const parsed = parseTokenText('rt', text);
    const record = parsed && (await this.meta.credentials.refreshToken(parsed.id));
    const valid =
      record &&
      secretMatches(parsed.secret, record.secretHash) &&
      record.revokedAt === null &&
      record.expiresAt > Date.now();
    const account = valid ? await this.meta.accounts.byId(record.accountId) : undefined;
    if (!account || account.disabled) {
      await this.refuseWhenLimited('(refresh token)', address);
      return this.fail('(refresh token)', address, 'bad refresh token');
    }
    return principalOf(account, `rt:${record!.id}`);
  }

  /** Ends the session of refresh token `text` (signing out); false when it was not live. */
  async endRefreshToken(text: string, address: string | null): Promise<boolean> {
    const principal = await this.refresh(text, address);
    const id = Number(principal.session.slice('rt:'.length));
    this.live.delete(principal.session);
    return this.meta.credentials.revokeRefreshToken(id);
  }

  /**
   * The user behind `session` if it is still live (account enabled, token neither revoked nor
   * expired), cached for a moment; undefined otherwise.
   */
  /** The cached answer of `sessionPrincipal` without waiting: the user, null (dead), or undefined (not known). */
  cachedSession(session: string): UserPrincipal | null | undefined {
    return this.live.get(session);
  }

  async sessionPrincipal(session: string): Promise<UserPrincipal | undefined> {
    const cached = this.live.get(session);
    if (cached !== undefined) return cached ?? undefined;
    const principal = (await this.loadSession(session)) ?? null;
    this.live.set(session, principal);
    return principal ?? undefined;
  }

  private async loadSession(session: string): Promise<UserPrincipal | undefined> {
    const m = /^(pw|pat|rt):(\d+)(?::([0-9a-f]{16}))?$/.exec(session);
    if (!m) return undefined;
    const id = Number(m[2]);
    let accountId = id;
    let cap: UserPrincipal['cap'];
    let repository: string | null = null;
    if (m[1] === 'pat') {
      const t = await this.meta.credentials.accessToken(id);
      if (!t || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= Date.now()))
        return undefined;
      accountId = t.accountId;
      cap = t.level;
      repository = t.repository;
    } else if (m[1] === 'rt') {
      const t = await this.meta.credentials.refreshToken(id);
      if (!t || t.revokedAt !== null || t.expiresAt <= Date.now()) return undefined;
      accountId = t.accountId;
    }
    const account = await this.meta.accounts.byId(accountId);
    if (!account || account.disabled || account.kind !== 'user') return undefined;
    const viaDirectory = account.provider !== null && directorySession(account) === session;
    if (m[1] === 'pw' && passwordSession(account) !== session && !viaDirectory) return undefined;
    const principal = principalOf(account, session, cap);
    // A build's credential stays bound to its one repository however it is presented again.
    return repository ? { ...principal, repository } : principal;
  }
}
