/** Identifying the caller of a request from its Authorization header, and deciding per action. */
import { admitNewRepository } from '../registry/index.js';
import type { ListingScope, Meta, Visibility } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import type { AccessPolicy } from './access-policy.js';
import type { Authenticator } from './authenticator.js';
import type { RepositoryAction } from './policy.js';
import type { Principal } from './principal.js';
import { ANONYMOUS } from './principal.js';
import type { ResourceScope } from './scope.js';
import { tokenAllows, type TokenAudience, type TokenService } from './token-service.js';

/** A request's caller: who, and how they proved it. */
export interface Caller {
  principal: Principal;
  via: 'none' | 'basic' | 'bearer';
  /** What a bearer token grants. */
  access?: ResourceScope[];
}

/** Why a caller may not do something, and how the client should react. */
export interface Refusal {
  /** 401: authenticate (again) with the challenge; 403: authenticated and still refused. */
  status: 401 | 403;
  message: string;
  insufficientScope: boolean;
}

/** Credentials from a Basic header: user and secret, or undefined when malformed. */
export function parseBasic(value: string): { username: string; secret: string } | undefined {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** Turns Authorization headers into callers and answers "may they?". */
export class RequestAuth {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly tokens: TokenService,
    private readonly policy: AccessPolicy,
    private readonly meta: Meta,
    private readonly defaultVisibility: Visibility,
  ) {}

  /**
   * The caller behind a bearer token for `audience` verified before, without waiting; otherwise
   * undefined. Throws UNAUTHORIZED for a known token of another audience.
   */
  identifyCached(authorization: string | undefined, audience: TokenAudience): Caller | undefined {
    if (!authorization || !authorization.startsWith('Bearer ey')) return undefined;
    const verified = this.tokens.verifyCached(authorization.slice(7), audience);
    return verified && { principal: verified.principal, via: 'bearer', access: verified.access };
  }

  /**
   * The caller behind `authorization` where `audience` tokens are valid (the registry API, or the
   * management API); throws UNAUTHORIZED for bad, revoked or misplaced credentials. Only a missing
   * header is anonymous: an empty one, or a scheme without credentials, is refused.
   */
  async identify(
    authorization: string | undefined,
    address: string | null,
    audience: TokenAudience,
  ): Promise<Caller> {
    if (authorization === undefined) return { principal: ANONYMOUS, via: 'none' };
    const trimmed = authorization.trim();
    const space = trimmed.indexOf(' ');
    const scheme = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : trimmed.slice(space + 1).trim();
    if (scheme === '') throw new BerthError('UNAUTHORIZED', 'empty Authorization header');
    if (value === '' && (scheme === 'bearer' || scheme === 'basic'))
      throw new BerthError('UNAUTHORIZED', `the ${scheme} scheme needs credentials`);
    if (scheme === 'bearer' && value.startsWith('berth_pat_'))
      return {
        principal: await this.authenticator.loginWithAccessToken(value, address),
        via: 'basic',
      };
    if (scheme === 'bearer') {
      const verified = await this.tokens.verify(value, audience);
      return { principal: verified.principal, via: 'bearer', access: verified.access };
    }
    if (scheme === 'basic') {
      const creds = parseBasic(value);
      if (!creds) throw new BerthError('UNAUTHORIZED', 'malformed Basic credentials');
      return {
        principal: await this.authenticator.login(creds.username, creds.secret, address),
        via: 'basic',
      };
    }
    throw new BerthError('UNAUTHORIZED', `unsupported authorization scheme ${scheme.slice(0, 20)}`);
  }

  /**
   * Before a caller's first push into `repository`: creates it with the default visibility,
   * recording who created it, unless it exists.
   */
  async prepareForPush(caller: Caller, repository: string): Promise<void> {
    const { principal } = caller;
    if (principal.kind !== 'user') return;
    if (await this.policy.exists(repository)) return;
    const created = await this.meta.writeTransaction(async (tx) => {
      if ((await tx.repositories.find(repository)) !== undefined) return false;
      await admitNewRepository(tx, repository);
      return tx.repositories.create(repository, {
        visibility: this.defaultVisibility,
        createdBy: principal.name,
      });
    });
    if (created) this.policy.invalidate();
  }

  /** Whether `caller` may do `action` on `repository`. */
  async may(caller: Caller, repository: string, action: RepositoryAction): Promise<boolean> {
    if (caller.via === 'bearer') return this.tokenGrants(caller, repository, action);
    return this.policy.allows(caller.principal, repository, action);
  }

  /**
   * Whether `caller`'s bearer token grants `action` on `repository`: what `may` answers such a
   * caller, without waiting. False for every other caller (ask `may`).
   */
  tokenGrants(caller: Caller, repository: string, action: RepositoryAction): boolean {
    return caller.via === 'bearer' && tokenAllows(caller.access ?? [], repository, action);
  }

  /** Why `caller` may not do `action` on `repository`. */
  async refusal(caller: Caller, repository: string, action: RepositoryAction): Promise<Refusal> {
    const { reasons } = await this.policy.decide(caller.principal, repository);
    const message = reasons[action] ?? `${action} access to ${repository} denied`;
    if (caller.via === 'none') return { status: 401, message, insufficientScope: false };
    if (caller.principal.kind === 'anonymous')
      return { status: 401, message, insufficientScope: true };
    // A token that lacks an action its holder could be granted: 401, so clients that
    // re-authenticate only on 401 fetch a token with the scope named in the challenge.
    if (caller.via === 'bearer' && (await this.policy.allows(caller.principal, repository, action)))
      return { status: 401, message, insufficientScope: true };
    return { status: 403, message, insufficientScope: true };
  }

  /**
   * Whether `caller` may read `repository` as a mount source: granted by their token, or by the
   * policy for who they are (a token names only the repositories the client asked about).
   */
  async mayRead(caller: Caller, repository: string): Promise<boolean> {
    if (caller.via === 'bearer' && tokenAllows(caller.access ?? [], repository, 'pull'))
      return true;
    return this.policy.allows(caller.principal, repository, 'pull');
  }

  /**
   * Whether `caller` may do `action` on the trust data of `gun`, which names `repository`: by
   * their token's grant for the GUN, or by the policy for who they are.
   */
  async mayTrust(
    caller: Caller,
    gun: string,
    repository: string,
    action: RepositoryAction,
  ): Promise<boolean> {
    if (caller.via === 'bearer') {
      const access = caller.access ?? [];
      return gun === repository
        ? tokenAllows(access, gun, action)
        : tokenAllows(access, gun, action, 'trust');
    }
    return this.policy.allows(caller.principal, repository, action);
  }

  /**
   * Whether `principal` administers `scope`: a repository (`team/app`), or a namespace (`team/`,
   * judged as for a repository not created yet in it).
   */
  mayAdminister(principal: Principal, scope: string): Promise<boolean> {
    const repository = scope.endsWith('/') ? `${scope}--` : scope;
    return this.policy.allows(principal, repository, 'delete');
  }

  /** The subset of `repositories` the caller may see. */
  visible(
    caller: Caller,
    repositories: (string | { name: string; visibility: Visibility })[],
  ): Promise<string[]> {
    return this.policy.visible(caller.principal, repositories);
  }

  /** Which repositories the caller may see in listings (see `AccessPolicy.listingScope`). */
  listingScope(caller: Caller): Promise<ListingScope> {
    return this.policy.listingScope(caller.principal);
  }
}
