/** The auth room's facade: every part built once from the settings, over one database. */
import type { AuditEntry, AuditFilter, Meta, Visibility } from '../meta/index.js';
import type { SecretBox } from '../kit/index.js';
import { AccessPolicy } from './access-policy.js';
import { AccessTokenDirectory } from './access-tokens.js';
import { directoryProviderSchema, type DirectoryProviderSettings } from '../config/index.js';
import { BerthError } from '../oci/index.js';
import { DirectoryAccounts } from './directory-accounts.js';
import { LdapProvider } from './ldap-provider.js';
import { ProviderCatalog } from './provider-catalog.js';
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
  /** Directories of the configuration file (bind passwords in the clear), in order. */
  directories?: DirectoryProviderSettings[];
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

  /**
   * Saves directory provider `input` (made, or replaced whole when `replacing` names it): checked
   * against the settings schema, its bind password sealed with the master key — kept as it was
   * when an edit leaves it out. A name the configuration file has cannot be saved here.
   */
  async save(actor: Actor, input: unknown, replacing?: string) {
    this.requireAdmin(actor, 'change identity providers');
    const catalog = this.directories.catalog;
    const given = (typeof input === 'object' && input !== null ? input : {}) as Record<
      string,
      unknown
    >;
    const name = replacing ?? given.name;
    if (typeof name === 'string' && catalog.inFile(name))
      throw new BerthError(
        'CONFLICT',
        `${name} is set in the configuration file; change it there (or remove it there first)`,
      );
    if (given.caFile !== undefined)
      throw new BerthError('INVALID_REQUEST', 'give the CA certificate as PEM text in ca');
    const stored = (await this.meta.identityProviders.list()).find((p) => p.name === name);
    if (replacing === undefined && stored)
      throw new BerthError('CONFLICT', `there is already a provider named ${String(name)}`);
    if (replacing !== undefined && !stored)
      throw new BerthError('NOT_FOUND', `no saved identity provider ${replacing}`);
    if (replacing !== undefined && given.name !== undefined && given.name !== replacing)
      throw new BerthError('INVALID_REQUEST', 'a provider cannot be renamed; add a new one');
    const keepPassword = given.bindPassword === undefined && stored !== undefined;
    const parsed = directoryProviderSchema.safeParse({
      ...given,
      name,
      bindPassword: keepPassword ? 'kept' : given.bindPassword,
    });
    if (!parsed.success)
      throw new BerthError(
        'INVALID_REQUEST',
        parsed.error.issues
          .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
          .join('; '),
      );
    const { bindPassword, name: saved, order, ...settings } = parsed.data;
    const sealed = keepPassword ? stored!.sealedBindPassword : catalog.seal(saved, bindPassword);
    await this.changed(
      actor,
      {
        action: replacing === undefined ? 'identity.provider.create' : 'identity.provider.update',
        target: saved,
        detail: { urls: settings.urls, passwordChanged: !keepPassword },
      },
      (tx) =>
        tx.identityProviders.put({
          name: saved,
          position: order ?? 100,
          // Presets are applied already: what is saved is what is in force.
          settings: { ...settings },
          sealedBindPassword: sealed,
          updatedBy: actor.principal.name,
        }),
    );
    catalog.invalidate();
    return (await this.directories.describe()).providers.find((p) => p.name === saved);
  }

  /** Removes saved provider `name`; CONFLICT while accounts still belong to it. */
  async remove(actor: Actor, name: string): Promise<void> {
    this.requireAdmin(actor, 'change identity providers');
    const catalog = this.directories.catalog;
    if (catalog.inFile(name))
      throw new BerthError('CONFLICT', `${name} is set in the configuration file; remove it there`);
    const members = (await this.meta.accounts.list('user')).filter((a) => a.provider === name);
    if (members.length > 0)
      throw new BerthError(
        'CONFLICT',
        `${members.length} account(s) belong to ${name} (${members
          .slice(0, 5)
          .map((a) => a.name)
          .join(', ')}); move them first (berth idp link USER --provider … or --local)`,
      );
    const removed = await this.changed(
      actor,
      { action: 'identity.provider.delete', target: name },
      (tx) => tx.identityProviders.remove(name),
    );
    if (!removed) throw new BerthError('NOT_FOUND', `no saved identity provider ${name}`);
    catalog.invalidate();
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
    box?: SecretBox,
  ) {
    this.policy = new AccessPolicy(meta, {
      anonymousPull: settings.anonymousPull,
      cacheTtlMs: settings.cacheTtlMs,
    });
    const catalog = new ProviderCatalog(
      meta,
      settings.directories ?? [],
      (s) => new LdapProvider(s),
      box,
    );
    const directories = new DirectoryAccounts(meta, catalog);
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
    return new AuthService(meta, await TokenKeys.open(meta, box), settings, audit, box);
  }
}
