/** The access policy over the database: gathers the facts for `decideAccess` and caches them briefly. */
import type { AccessLevel, ListingScope, Membership, Meta, Visibility } from '../meta/index.js';
import { TtlCache } from '../registry/index.js';
import { decideAccess, maxLevel, type AccessDecision, type RepositoryAction } from './policy.js';
import type { Principal } from './principal.js';

/** What one user brings to every decision: memberships and grants. */
interface UserView {
  memberships: Map<string, Membership>;
  grants: Map<string, AccessLevel>;
}

/** The first path component of a repository name, or undefined for a single-component name. */
export function namespaceOf(repository: string): string | undefined {
  const slash = repository.indexOf('/');
  return slash < 0 ? undefined : repository.slice(0, slash);
}

/** Decides access to repositories for principals, reading accounts, grants and visibility. */
export class AccessPolicy {
  private readonly users: TtlCache<UserView>;
  private readonly namespaces: TtlCache<'user' | 'org' | 'none'>;
  private readonly visibility: TtlCache<Visibility | 'none'>;

  constructor(
    private readonly meta: Meta,
    private readonly options: { anonymousPull: boolean; cacheTtlMs: number },
  ) {
    this.users = new TtlCache(options.cacheTtlMs, 1_000);
    this.namespaces = new TtlCache(options.cacheTtlMs, 10_000);
    this.visibility = new TtlCache(options.cacheTtlMs, 10_000);
  }

  /** Forgets cached facts (after a change made through this process). */
  invalidate(): void {
    this.users.clear();
    this.namespaces.clear();
    this.visibility.clear();
  }

  private async userView(id: number): Promise<UserView> {
    const key = String(id);
    const cached = this.users.get(key);
    if (cached) return cached;
    const memberships = await this.meta.accounts.membershipsOf(id);
    const teams = await this.meta.teams.teamsOf(id);
    const grants = new Map<string, AccessLevel>();
    for (const g of await this.meta.grants.of(
      id,
      teams.map((t) => t.teamId),
    )) {
      const k = `${g.target.kind}:${g.target.name}`;
      grants.set(k, maxLevel(grants.get(k), g.level)!);
    }
    const view = { memberships: new Map(memberships.map((m) => [m.org, m])), grants };
    this.users.set(key, view);
    return view;
  }

  private async namespaceOwner(namespace: string): Promise<'user' | 'org' | undefined> {
    let kind = this.namespaces.get(namespace);
    if (kind === undefined) {
      kind = (await this.meta.accounts.byName(namespace))?.kind ?? 'none';
      this.namespaces.set(namespace, kind);
    }
    return kind === 'none' ? undefined : kind;
  }

  private async visibilityOf(repository: string): Promise<Visibility | undefined> {
    let v = this.visibility.get(repository);
    if (v === undefined) {
      v = (await this.meta.repositories.info(repository))?.visibility ?? 'none';
      this.visibility.set(repository, v);
    }
    return v === 'none' ? undefined : v;
  }

  /** Whether `repository` exists (from the same cache `decide` reads). */
  async exists(repository: string): Promise<boolean> {
    return (await this.visibilityOf(repository)) !== undefined;
  }

  /** What `principal` may do with `repository`, and why not where not. */
  async decide(principal: Principal, repository: string): Promise<AccessDecision> {
    return this.decideKnowing(principal, repository, () => this.visibilityOf(repository));
  }

  /** `decide`, with the repository's visibility read by `visibilityOf` (known to listings). */
  private async decideKnowing(
    principal: Principal,
    repository: string,
    visibilityOf: () => Promise<Visibility | undefined>,
  ): Promise<AccessDecision> {
    if (principal.kind === 'user' && principal.repository && principal.repository !== repository) {
      const why = `this credential is for ${principal.repository} only`;
      return {
        allowed: new Set(),
        reasons: { pull: why, push: why, delete: why },
        exists: false,
      };
    }
    const namespace = namespaceOf(repository);
    const namespaceOwner =
      namespace === undefined ? undefined : await this.namespaceOwner(namespace);
    const visibility = await visibilityOf();
    const base = { repository, namespace, namespaceOwner, visibility };
    if (principal.kind === 'anonymous')
      return decideAccess({ ...base, anonymousPull: this.options.anonymousPull });
    const view = await this.userView(principal.id);
    const membership = namespace === undefined ? undefined : view.memberships.get(namespace);
    const granted = maxLevel(
      view.grants.get(`repository:${repository}`),
      namespace === undefined ? undefined : view.grants.get(`namespace:${namespace}`),
    );
    return decideAccess({
      ...base,
      user: { name: principal.name, admin: principal.admin, cap: principal.cap },
      orgRole: membership?.role,
      orgDefault: membership?.defaultLevel ?? undefined,
      granted,
      anonymousPull: this.options.anonymousPull,
    });
  }

  /** Whether `principal` may do `action` on `repository`. */
  async allows(
    principal: Principal,
    repository: string,
    action: RepositoryAction,
  ): Promise<boolean> {
    return (await this.decide(principal, repository)).allowed.has(action);
  }

  /**
   * Whether `principal` administers `target`: a repository (admin level on it) or a namespace
   * (admin level on every repository in it: the user themselves, an organisation's owners, a
   * namespace-wide admin grant). Administrators acting with full credentials administer all.
   */
  async administers(
    principal: Principal,
    target: { kind: 'repository' | 'namespace'; name: string },
  ): Promise<boolean> {
    if (principal.kind !== 'user') return false;
    if (principal.admin && (principal.cap === undefined || principal.cap === 'admin')) return true;
    // A namespace is administered when a repository in it would be (`_namespace` is no valid
    // repository name, so no real repository's grants or visibility count).
    const repository = target.kind === 'namespace' ? `${target.name}/_namespace` : target.name;
    return this.allows(principal, repository, 'delete');
  }

  /**
   * The subset of `repositories` that `principal` may pull, in the same order. A listing that
   * already knows each repository's visibility passes it, sparing a lookup per repository.
   */
  async visible(
    principal: Principal,
    repositories: (string | { name: string; visibility: Visibility })[],
  ): Promise<string[]> {
    const names = repositories.map((r) => (typeof r === 'string' ? r : r.name));
    if (principal.kind === 'user' && principal.admin) return names;
    const publicRead = this.readsPublic(principal);
    const out: string[] = [];
    for (const r of repositories) {
      const name = typeof r === 'string' ? r : r.name;
      const known = typeof r === 'string' ? undefined : r.visibility;
      // A public repository is readable by whoever reads public ones: no facts to gather.
      if (known === 'public' && publicRead) {
        out.push(name);
        continue;
      }
      const decision = await this.decideKnowing(principal, name, () =>
        known === undefined ? this.visibilityOf(name) : Promise.resolve(known),
      );
      if (decision.allowed.has('pull')) out.push(name);
    }
    return out;
  }

  /** Whether `principal` reads every public repository (not a credential for one repository). */
  private readsPublic(principal: Principal): boolean {
    if (principal.kind === 'anonymous') return this.options.anonymousPull;
    return principal.kind === 'user' && !principal.repository;
  }

  /**
   * Which repositories `principal` may see in listings, for the database to page through: all
   * (administrators), or the public ones and the private ones a membership, a grant or the
   * user's own namespace lets them read (each judged as `visible` would).
   */
  async listingScope(principal: Principal): Promise<ListingScope> {
    if (principal.kind === 'user' && principal.admin && !principal.repository) return { all: true };
    if (principal.kind === 'user' && principal.repository) {
      const names = await this.visible(principal, [principal.repository]);
      return { all: false, publicToo: false, names };
    }
    const publicToo = this.readsPublic(principal);
    if (principal.kind !== 'user') return { all: false, publicToo, names: [] };
    const view = await this.userView(principal.id);
    const namespaces = new Set([principal.name, ...view.memberships.keys()]);
    const repositories: string[] = [];
    for (const key of view.grants.keys()) {
      const [kind, target] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
      if (kind === 'namespace') namespaces.add(target);
      else repositories.push(target);
    }
    const candidates = await this.meta.repositories.privateAmong([...namespaces], repositories);
    const names = await this.visible(
      principal,
      candidates.map((name) => ({ name, visibility: 'private' as const })),
    );
    return { all: false, publicToo, names };
  }
}
