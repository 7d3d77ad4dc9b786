/**
 * The Docker token service: grants the allowed subset of requested scopes, signs short-lived
 * ES256 JWTs, and verifies them (signature, issuer, audience, time, and a live credential).
 */
import { randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
import type { KeyObject } from 'node:crypto';
import { signEs256Jwt } from './jwt-signer.js';
import { BerthError, isValidName, repositoryOfGun } from '../oci/index.js';
import type { AccessPolicy } from './access-policy.js';
import type { Authenticator } from './authenticator.js';
import type { Principal } from './principal.js';
import { ANONYMOUS } from './principal.js';
import type { ResourceScope } from './scope.js';
import type { TokenKeys } from './token-keys.js';

/** Who the tokens are for and how long they live. */
export interface TokenSettings {
  issuer: string;
  service: string;
  tokenTtlSeconds: number;
}

/** A signed token and its lifetime. */
export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

/** A verified token: who it speaks for and what it grants. */
export interface VerifiedToken {
  principal: Principal;
  access: ResourceScope[];
  expiresAt: number;
}

/**
 * What a token is for: `registry` tokens (from `/token`) speak only to the registry API and the
 * trust service; `management` tokens (web sessions from `/api/v1/session`) only to `/api/v1`.
 */
export type TokenAudience = 'registry' | 'management';

interface VerifiedEntry {
  access: ResourceScope[];
  sid: string;
  exp: number;
  audience: TokenAudience;
}

const WRONG_AUDIENCE: Record<TokenAudience, string> = {
  registry: 'a management session token is not valid on the registry API',
  management:
    'a registry token is not a management session; sign in, or use an access token or Basic credentials',
};

const REPOSITORY_ACTIONS = ['pull', 'push', 'delete'] as const;

/**
 * Seconds a registry token just issued is handed out again to the same credential asking for the
 * same grants (a client, as `docker push`, asks anew per push; many clients share a robot
 * account): its signature is not made again. It expires when it would have.
 */
const REISSUE_SECONDS = 5;

/** A registry token recently issued, by what it was issued for. */
interface RecentToken {
  token: string;
  iat: number;
  exp: number;
}

/** Issues and verifies registry tokens. */
export class TokenService {
  private readonly verified = new Map<string, VerifiedEntry>();
  private readonly recent = new Map<string, RecentToken>();

  constructor(
    private readonly keys: TokenKeys,
    private readonly policy: AccessPolicy,
    private readonly authenticator: Authenticator,
    private readonly settings: TokenSettings,
    /** Milliseconds since the epoch (tests move it). */
    private readonly clock: () => number = Date.now,
  ) {}

  /** The service name tokens are bound to. */
  get service(): string {
    return this.settings.service;
  }

  /** The JWT audience of `audience` tokens. */
  private audienceClaim(audience: TokenAudience): string {
    return audience === 'registry' ? this.settings.service : `${this.settings.service}#management`;
  }

  /** The part of `requested` that `principal` may have. */
  async grant(principal: Principal, requested: ResourceScope[]): Promise<ResourceScope[]> {
    const granted: ResourceScope[] = [];
    for (const scope of requested) {
      if (scope.type === 'registry') {
        if (principal.kind === 'user') granted.push({ ...scope, actions: ['*'] });
        continue;
      }
      if (scope.type !== 'repository') continue;
      // A name the registry knows is granted as a repository; a GUN naming a repository of this
      // registry (`host:port/team/app`) is granted, as a separate `trust` entry, what the caller
      // may do to that repository — so a GUN string never grants registry access by itself.
      if (isValidName(scope.name))
        await this.grantOne(
          granted,
          principal,
          'repository',
          scope.name,
          scope.name,
          scope.actions,
        );
      const gunRepository = repositoryOfGun(scope.name);
      if (gunRepository !== undefined && gunRepository !== scope.name)
        await this.grantOne(granted, principal, 'trust', scope.name, gunRepository, scope.actions);
    }
    return granted;
  }

  private async grantOne(
    granted: ResourceScope[],
    principal: Principal,
    type: 'repository' | 'trust',
    name: string,
    repository: string,
    requested: string[],
  ): Promise<void> {
    const decision = await this.policy.decide(principal, repository);
    const wanted = requested.includes('*') ? [...REPOSITORY_ACTIONS] : requested;
    const actions = wanted.filter((a) => decision.allowed.has(a as 'pull'));
    if (requested.includes('*') && actions.length === REPOSITORY_ACTIONS.length) actions.push('*');
    const existing = granted.find((g) => g.type === type && g.name === name);
    if (existing) existing.actions = [...new Set([...existing.actions, ...actions])];
    else granted.push({ type, name, actions });
  }

  /** Signs a token for `principal` granting `access`, valid only where `audience` says. */
  async issue(
    principal: Principal,
    access: ResourceScope[],
    audience: TokenAudience = 'registry',
  ): Promise<IssuedToken> {
    const { kid, key } = this.keys.signing;
    const now = Math.floor(this.clock() / 1000);
    const sid = principal.kind === 'user' ? principal.session : 'anon';
    const sub = principal.kind === 'user' ? principal.name : '';
    // The same credential asking again for the same grants within a few seconds gets the token
    // it was just given (registry tokens only: a management token is a session of its own).
    const recentKey = audience === 'registry' ? JSON.stringify([kid, sid, sub, access]) : '';
    const recent = recentKey ? this.recent.get(recentKey) : undefined;
    if (recent && now - recent.iat <= REISSUE_SECONDS && this.verified.has(recent.token))
      return {
        token: recent.token,
        expiresIn: recent.exp - now,
        issuedAt: new Date(recent.iat * 1000).toISOString(),
      };
    const exp = now + this.settings.tokenTtlSeconds;
    // What verifying this token's signature will find (a copy: the caller keeps `access`), so
    // its first use skips the check: a client, as `docker push`, uses a fresh token at once.
    const entry: VerifiedEntry = { access: structuredClone(access), sid, exp, audience };
    const claims: Record<string, unknown> = { access };
    if (principal.kind === 'user') claims.sid = entry.sid;
    const token = signEs256Jwt(
      {
        ...claims,
        iss: this.settings.issuer,
        sub,
        aud: this.audienceClaim(audience),
        iat: now,
        nbf: now - 1,
        exp,
        jti: randomUUID(),
      },
      kid,
      key as KeyObject,
    );
    if (validEntry(entry)) this.remember(token, entry);
    if (recentKey) {
      if (this.recent.size >= 10_000) this.recent.clear();
      this.recent.set(recentKey, { token, iat: now, exp });
    }
    return {
      token,
      expiresIn: this.settings.tokenTtlSeconds,
      issuedAt: new Date(now * 1000).toISOString(),
    };
  }

  /**
   * The verification of a token seen before, answered without waiting (the hot path of every
   * request); undefined when it needs the full check. Throws UNAUTHORIZED when known revoked.
   */
  verifyCached(token: string, audience: TokenAudience): VerifiedToken | undefined {
    const entry = this.verified.get(token);
    if (!entry || entry.exp * 1000 <= this.clock()) return undefined;
    if (entry.audience !== audience) throw new BerthError('UNAUTHORIZED', WRONG_AUDIENCE[audience]);
    const principal =
      entry.sid === 'anon' ? ANONYMOUS : this.authenticator.cachedSession(entry.sid);
    if (principal === undefined) return undefined;
    if (principal === null)
      throw new BerthError('UNAUTHORIZED', 'the credential behind this token was revoked');
    return { principal, access: entry.access, expiresAt: entry.exp * 1000 };
  }

  /** Verifies `token` for `audience`; throws UNAUTHORIZED naming what is wrong with it. */
  async verify(token: string, audience: TokenAudience): Promise<VerifiedToken> {
    const cached = this.verifyCached(token, audience);
    if (cached) return cached;
    const known = this.verified.get(token);
    const entry =
      known && known.exp * 1000 > this.clock() ? known : await this.verifySignature(token);
    if (entry.audience !== audience) throw new BerthError('UNAUTHORIZED', WRONG_AUDIENCE[audience]);
    const principal =
      entry.sid === 'anon' ? ANONYMOUS : await this.authenticator.sessionPrincipal(entry.sid);
    if (!principal)
      throw new BerthError('UNAUTHORIZED', 'the credential behind this token was revoked');
    return { principal, access: entry.access, expiresAt: entry.exp * 1000 };
  }

  private async verifySignature(token: string): Promise<VerifiedEntry> {
    let payload;
    try {
      const keyFor = async (header: { kid?: string }) => {
        const key = await this.keys.lookup(header.kid);
        if (!key) throw new Error(`unknown signing key ${String(header.kid)}`);
        return key;
      };
      ({ payload } = await jwtVerify(token, keyFor, {
        algorithms: ['ES256'],
        issuer: this.settings.issuer,
        audience: [this.audienceClaim('registry'), this.audienceClaim('management')],
        requiredClaims: ['exp', 'nbf', 'iat', 'jti'],
        clockTolerance: 5,
      }));
    } catch (err) {
      throw new BerthError('UNAUTHORIZED', `invalid token: ${(err as Error).message}`, undefined, {
        cause: err,
      });
    }
    const access = Array.isArray(payload.access) ? (payload.access as ResourceScope[]) : [];
    const sid = typeof payload.sid === 'string' ? payload.sid : 'anon';
    if (payload.sub !== '' && sid === 'anon')
      throw new BerthError('UNAUTHORIZED', 'invalid token: no session');
    const audience: TokenAudience =
      payload.aud === this.audienceClaim('management') ? 'management' : 'registry';
    const entry = { access, sid, exp: payload.exp!, audience };
    if (!validEntry(entry))
      throw new BerthError('UNAUTHORIZED', 'invalid token: a malformed management session');
    this.remember(token, entry);
    return entry;
  }

  private remember(token: string, entry: VerifiedEntry): void {
    if (this.verified.size >= 10_000) this.verified.clear();
    this.verified.set(token, entry);
  }
}

/** False for a management session without a session or with registry grants. */
function validEntry(entry: VerifiedEntry): boolean {
  return entry.audience !== 'management' || (entry.sid !== 'anon' && entry.access.length === 0);
}

/** Whether `access` (a token's grants) allows `action` on repository `name` (or GUN, as `trust`). */
export function tokenAllows(
  access: ResourceScope[],
  name: string,
  action: string,
  type: 'repository' | 'trust' = 'repository',
): boolean {
  return access.some(
    (a) =>
      a.type === type && a.name === name && (a.actions.includes(action) || a.actions.includes('*')),
  );
}
