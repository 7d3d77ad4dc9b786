/** Managing repositories: create, list what the caller may see, settings, delete, and grants on them. */
import { admitNewRepository } from '../registry/index.js';
import type { AccessLevel, Grantee, RepositoryInfo, Visibility } from '../meta/index.js';
import { BerthError, isValidName } from '../oci/index.js';
import { namespaceOf } from './access-policy.js';
import { DirectoryBase, type Actor, type DirectoryParts } from './directory-common.js';
import type { Principal } from './principal.js';

/** A repository as the API shows it. */
export interface RepositoryView {
  name: string;
  namespace: string | null;
  visibility: Visibility;
  description: string | null;
  createdBy: string | null;
  createdAt: string;
  /** The caller's level on it. */
  access: AccessLevel | null;
}

/** A grant on a repository as the API shows it. */
export interface PermissionView {
  user?: string;
  team?: string;
  level: AccessLevel;
}

/** Repository management, checked and audited. */
export class RepositoryDirectory extends DirectoryBase {
  constructor(
    parts: DirectoryParts,
    private readonly defaultVisibility: Visibility,
  ) {
    super(parts);
  }

  private async view(principal: Principal, info: RepositoryInfo): Promise<RepositoryView> {
    const decision = await this.parts.policy.decide(principal, info.name);
    return {
      name: info.name,
      namespace: namespaceOf(info.name) ?? null,
      visibility: info.visibility,
      description: info.description,
      createdBy: info.createdBy,
      createdAt: new Date(info.createdAt).toISOString(),
      access: decision.level ?? null,
    };
  }

  private async existing(
    principal: Principal,
    name: string,
    needed: 'pull' | 'delete',
  ): Promise<RepositoryInfo> {
    if (!isValidName(name)) throw new BerthError('NAME_INVALID', `invalid repository name ${name}`);
    const info = await this.meta.repositories.info(name);
    const decision = await this.parts.policy.decide(principal, name);
    if (!info || !decision.allowed.has('pull'))
      throw new BerthError('NOT_FOUND', `no repository ${name} (or it is private)`);
    if (!decision.allowed.has(needed))
      throw new BerthError('DENIED', `changing ${name} needs admin rights on it`);
    return info;
  }

  /** Creates an empty repository where the actor may push. */
  async create(
    actor: Actor,
    name: string,
    settings: { visibility?: Visibility; description?: string | null },
  ): Promise<RepositoryView> {
    if (!isValidName(name)) throw new BerthError('NAME_INVALID', `invalid repository name ${name}`);
    const decision = await this.parts.policy.decide(actor.principal, name);
    if (!decision.allowed.has('push')) throw new BerthError('DENIED', decision.reasons.push);
    const visibility = settings.visibility ?? this.defaultVisibility;
    const entry = { action: 'repository.create', target: name, detail: { visibility } };
    await this.changed(actor, entry, async (tx) => {
      if ((await tx.repositories.find(name)) === undefined) await admitNewRepository(tx, name);
      const created = await tx.repositories.create(name, {
        visibility,
        description: settings.description ?? null,
        createdBy: actor.principal.name,
      });
      if (!created) throw new BerthError('CONFLICT', `repository ${name} exists`);
    });
    return this.get(actor.principal, name);
  }

  /**
   * Up to `limit` repositories the actor may see, after `last`, optionally in one namespace: the
   * database pages through what the actor's listing scope shows.
   */
  async list(
    principal: Principal,
    options: { limit: number; last?: string; namespace?: string },
  ): Promise<RepositoryView[]> {
    const scope = await this.parts.policy.listingScope(principal);
    const infos = await this.meta.repositories.listed(
      { scope, namespace: options.namespace },
      { limit: options.limit, after: options.last },
    );
    const out: RepositoryView[] = [];
    for (const info of infos) out.push(await this.view(principal, info));
    return out;
  }

  /** One repository the actor may see. */
  async get(principal: Principal, name: string): Promise<RepositoryView> {
    return this.view(principal, await this.existing(principal, name, 'pull'));
  }

  /** Changes visibility and description (repository admins). */
  async update(
    actor: Actor,
    name: string,
    patch: { visibility?: Visibility; description?: string | null },
  ): Promise<RepositoryView> {
    await this.existing(actor.principal, name, 'delete');
    this.requireFullCredential(actor, 'change repositories');
    const entry = { action: 'repository.update', target: name, detail: patch };
    await this.changed(actor, entry, (tx) => tx.repositories.update(name, patch));
    return this.get(actor.principal, name);
  }

  /** Deletes a repository with its tags and manifests; blobs go at the next GC (repository admins). */
  async delete(actor: Actor, name: string): Promise<void> {
    await this.existing(actor.principal, name, 'delete');
    this.requireFullCredential(actor, 'delete repositories');
    await this.changed(actor, { action: 'repository.delete', target: name }, async (tx) => {
      await tx.grants.removeAllOn({ kind: 'repository', name });
      await tx.repositories.delete(name);
      await tx.webhooks.deleteScope('repository', name);
      await tx.builds.deleteConfig(name);
    });
  }

  /** The grants on a repository (repository admins). */
  async permissions(actor: Actor, name: string): Promise<PermissionView[]> {
    await this.existing(actor.principal, name, 'delete');
    const grants = await this.meta.grants.on({ kind: 'repository', name });
    return grants.map((g) =>
      g.grantee.kind === 'user'
        ? { user: g.grantee.name, level: g.level }
        : { team: g.grantee.name, level: g.level },
    );
  }

  private async grantee(
    repository: string,
    who: { user?: string; team?: string },
  ): Promise<Grantee> {
    if (who.user !== undefined) return { kind: 'user', id: (await this.user(who.user)).id };
    const [orgName, teamName] = (who.team ?? '').split('/');
    if (!orgName || !teamName)
      throw new BerthError('INVALID_REQUEST', 'name a user, or a team as org/team');
    if (namespaceOf(repository) !== orgName)
      throw new BerthError(
        'INVALID_REQUEST',
        `team ${who.team} belongs to another organisation than ${repository}`,
      );
    const team = await this.meta.teams.byName((await this.org(orgName)).id, teamName);
    if (!team) throw new BerthError('NOT_FOUND', `no team ${who.team}`);
    return { kind: 'team', id: team.id };
  }

  /** Grants a user or team a level on a repository, or with null takes it away (repository admins). */
  async setPermission(
    actor: Actor,
    name: string,
    who: { user?: string; team?: string },
    level: AccessLevel | null,
  ): Promise<void> {
    await this.existing(actor.principal, name, 'delete');
    this.requireFullCredential(actor, 'change permissions');
    const grantee = await this.grantee(name, who);
    const target = { kind: 'repository' as const, name };
    const entry = { action: 'permission.set', target: name, detail: { ...who, level } };
    await this.changed(actor, entry, async (tx) => {
      if (level) await tx.grants.set(target, grantee, level);
      else if (!(await tx.grants.remove(target, grantee)))
        throw new BerthError('NOT_FOUND', `no permission to remove on ${name}`);
    });
  }
}
