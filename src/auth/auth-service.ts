/** The auth room's facade: every part built once from the settings, over one database. */
import type { AuditEntry, AuditFilter, Meta, Visibility } from '../meta/index.js';
import type { SecretBox } from '../kit/index.js';
import { AccessPolicy } from './access-policy.js';
import { AccessTokenDirectory } from './access-tokens.js';
import { DirectoryAccounts, type ConfiguredProvider } from './directory-accounts.js';
import { Authenticator } from './authenticator.js';
import { DirectoryBase, type Actor } from './directory-common.js';
import { OrgDirectory } from './organisations.js';
import type { AuditSink } from './ports.js';
import { RepositoryDirectory } from './repositories.js';
import { RequestAuth } from './request-auth.js';
import { TokenKeys } from './token-keys.js';
import { TokenService } from './token-service.js';
import { UserDirectory } from './users.js';

/** The settings the auth room needs (from the configuration). */
export interface AuthSettings {
  service: string;
  issuer: string;
  realm?: string;
  tokenTtlSeconds: number;
  refreshTtlSeconds: number;
  anonymousPull: boolean;
  maxFailures: number;
  failureWindowSeconds: number;
  defaultVisibility: Visibility;
  cacheTtlMs: number;
  /** Directories users may log in through, in order. */
  directories?: ConfiguredProvider[];
}

/** The identity providers for administrators: list, test (with a dry run for a user), sync. */
class IdentityAdmin extends DirectoryBase {
  constructor(
    parts: ConstructorParameters<typeof DirectoryBase>[0],
    private readonly directories: DirectoryAccounts,
  ) {
    super(parts);
  }

  list(actor: Actor) {
    this.requireAdmin(actor, 'see identity providers');
    return this.directories.describe();
  }

  test(actor: Actor, name: string, login?: string) {
    this.requireAdmin(actor, 'test identity providers');
    return this.directories.test(name, login);
  }

  /** Links a user to a directory (or with null makes it local again); audited. */
  async relink(actor: Actor, name: string, provider: string | null) {
    this.requireAdmin(actor, 'move accounts between identity providers');
    const moved = await this.directories.relink(name, provider);
    await this.parts.audit.record({
      actor: actor.principal.name,
      action: 'user.identity',
      target: name,
      outcome: 'success',
      address: actor.address,
      detail: { provider },
    });
    this.parts.authenticator.invalidate();
    return { name: moved.name, provider: moved.provider };
  }

  async sync(actor: Actor) {
    this.requireAdmin(actor, 'sync identity providers');
    const result = await this.directories.sync();
    this.parts.authenticator.invalidate();
    this.parts.policy.invalidate();
    return result;
  }
}

class AuditReader extends DirectoryBase {
  async query(actor: Actor, filter: AuditFilter): Promise<AuditEntry[]> {
    this.requireAdmin(actor, 'read the audit log');
    return this.meta.audit.query(filter);
  }
}

/** Accounts, tokens, the access policy and management, ready to use. */
export class AuthService {
  readonly policy: AccessPolicy;
  readonly authenticator: Authenticator;
  readonly tokens: TokenService;
  readonly requests: RequestAuth;
  readonly users: UserDirectory;
  readonly orgs: OrgDirectory;
  readonly repositories: RepositoryDirectory;
  readonly accessTokens: AccessTokenDirectory;
  readonly auditLog: AuditReader;
  readonly identity: IdentityAdmin;

  private constructor(
    readonly meta: Meta,
    readonly keys: TokenKeys,
    readonly settings: AuthSettings,
    audit: AuditSink,
  ) {
    this.policy = new AccessPolicy(meta, {
      anonymousPull: settings.anonymousPull,
      cacheTtlMs: settings.cacheTtlMs,
    });
    const directories = new DirectoryAccounts(meta, settings.directories ?? []);
    this.authenticator = new Authenticator(
      meta,
      audit,
      {
        maxFailures: settings.maxFailures,
        failureWindowMs: settings.failureWindowSeconds * 1000,
        refreshTtlMs: settings.refreshTtlSeconds * 1000,
        cacheTtlMs: settings.cacheTtlMs,
      },
      directories,
    );
    this.tokens = new TokenService(keys, this.policy, this.authenticator, {
      issuer: settings.issuer,
      service: settings.service,
      tokenTtlSeconds: settings.tokenTtlSeconds,
    });
    this.requests = new RequestAuth(
      this.authenticator,
      this.tokens,
      this.policy,
      meta,
      settings.defaultVisibility,
    );
    const parts = { meta, policy: this.policy, authenticator: this.authenticator, audit };
    this.users = new UserDirectory(parts);
    this.orgs = new OrgDirectory(parts);
    this.repositories = new RepositoryDirectory(parts, settings.defaultVisibility);
    this.accessTokens = new AccessTokenDirectory(parts);
    this.auditLog = new AuditReader(parts);
    this.identity = new IdentityAdmin(parts, directories);
  }

  /** Builds the service, loading (or creating) the token signing keys sealed in `box`. */
  static async open(
    meta: Meta,
    audit: AuditSink,
    settings: AuthSettings,
    box: SecretBox,
  ): Promise<AuthService> {
    return new AuthService(meta, await TokenKeys.open(meta, box), settings, audit);
  }
}
