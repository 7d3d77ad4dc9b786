/** Managing organisations, their members and teams, and the teams' organisation-wide levels. */
import type { AccessLevel, AccountRecord, OrgRole } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { actsAsAdmin } from './principal.js';
import { DirectoryBase, refuseProblem, type Actor } from './directory-common.js';
import { accountNameProblem, teamNameProblem } from './names.js';
import {
  disposeNamespace,
  refuseNameTakeover,
  type Disposed,
  type NamespaceDisposal,
} from './namespaces.js';

/** An organisation as the API shows it. */
export interface OrgView {
  name: string;
  defaultLevel: AccessLevel | null;
  createdAt: string;
  members?: { name: string; role: OrgRole }[];
  teams?: TeamView[];
}

/** A team as the API shows it. */
export interface TeamView {
  org: string;
  name: string;
  description: string | null;
  /** The team's level on every repository of the organisation, if any. */
  level: AccessLevel | null;
  members?: string[];
  memberCount?: number;
}

function orgView(a: AccountRecord): OrgView {
  return {
    name: a.name,
    defaultLevel: a.defaultLevel,
    createdAt: new Date(a.createdAt).toISOString(),
  };
}

/** Organisation and team management, checked and audited. */
export class OrgDirectory extends DirectoryBase {
  /** Creates an organisation owned by `owner` (default: the actor; others need an administrator). */
  async create(actor: Actor, name: string, owner?: string): Promise<OrgView> {
    this.requireFullCredential(actor, 'create organisations');
    refuseProblem(accountNameProblem(name));
    const ownerName = owner ?? actor.principal.name;
    if (ownerName !== actor.principal.name)
      this.requireAdmin(actor, 'create organisations for others');
    const ownerAccount = await this.user(ownerName);
    if (await this.meta.accounts.byName(name))
      throw new BerthError('CONFLICT', `the name ${name} is taken`);
    await refuseNameTakeover(this.meta, actor, name);
    const entry = { action: 'org.create', target: name, detail: { owner: ownerName } };
    const org = await this.changed(actor, entry, async (tx) => {
      const created = await tx.accounts.create({ name, kind: 'org' });
      await tx.accounts.setMember(created.id, ownerAccount.id, 'owner');
      return created;
    });
    return orgView(org);
  }

  /** Every organisation (administrators) or those the actor belongs to. */
  async list(actor: Actor): Promise<OrgView[]> {
    if (actsAsAdmin(actor.principal)) return (await this.meta.accounts.list('org')).map(orgView);
    const mine = await this.meta.accounts.membershipsOf(actor.principal.id);
    const orgs = await Promise.all(mine.map((m) => this.org(m.org)));
    return orgs.map(orgView).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One organisation with members and teams (members and administrators). */
  async get(actor: Actor, name: string): Promise<OrgView> {
    const org = await this.org(name);
    if (!actsAsAdmin(actor.principal) && !(await this.roleIn(actor, org)))
      throw new BerthError('DENIED', `only members of ${name} may see it`);
    return {
      ...orgView(org),
      members: await this.meta.accounts.members(org.id),
      teams: await this.teams(org),
    };
  }

  /** Sets the level every member has on every repository of the organisation (owners). */
  async setDefaultLevel(actor: Actor, name: string, level: AccessLevel | null): Promise<OrgView> {
    const org = await this.org(name);
    await this.requireOwner(actor, org, 'change its default level');
    const entry = { action: 'org.update', target: name, detail: { defaultLevel: level } };
    await this.changed(actor, entry, (tx) => tx.accounts.update(org.id, { defaultLevel: level }));
    return orgView((await this.meta.accounts.byId(org.id))!);
  }

  /**
   * Deletes an organisation (owners); its repositories are refused, deleted or (administrators)
   * transferred as `disposal` says, and its name stays reserved.
   */
  async delete(
    actor: Actor,
    name: string,
    disposal: NamespaceDisposal = { repositories: 'refuse' },
  ): Promise<void> {
    const org = await this.org(name);
    await this.requireOwner(actor, org, 'delete it');
    await this.changed<Disposed>(
      actor,
      (done) => ({ action: 'org.delete', target: name, detail: { ...done } }),
      async (tx) => {
        const result = await disposeNamespace(tx, actor, name, 'org', disposal);
        await tx.grants.removeAllOn({ kind: 'namespace', name });
        await tx.accounts.delete(org.id);
        return result;
      },
    );
  }

  /** Adds a member or changes their role (owners). */
  async setMember(actor: Actor, name: string, user: string, role: OrgRole): Promise<void> {
    const org = await this.org(name);
    await this.requireOwner(actor, org, 'change its members');
    const account = await this.user(user);
    if (role === 'member') await this.keepOneOwner(org, user);
    const entry = { action: 'org.member.set', target: name, detail: { user, role } };
    await this.changed(actor, entry, (tx) => tx.accounts.setMember(org.id, account.id, role));
  }

  /** Removes a member from the organisation and its teams (owners). */
  async removeMember(actor: Actor, name: string, user: string): Promise<void> {
    const org = await this.org(name);
    await this.requireOwner(actor, org, 'change its members');
    const account = await this.user(user);
    await this.keepOneOwner(org, user);
    const entry = { action: 'org.member.remove', target: name, detail: { user } };
    await this.changed(actor, entry, async (tx) => {
      if (!(await tx.accounts.removeMember(org.id, account.id)))
        throw new BerthError('NOT_FOUND', `${user} is not a member of ${name}`);
    });
  }

  private async keepOneOwner(org: AccountRecord, leaving: string): Promise<void> {
    const owners = (await this.meta.accounts.members(org.id)).filter((m) => m.role === 'owner');
    if (owners.length === 1 && owners[0]!.name === leaving)
      throw new BerthError('CONFLICT', `${leaving} is the last owner of ${org.name}`);
  }

  private async teams(org: AccountRecord): Promise<TeamView[]> {
    const grants = await this.meta.grants.on({ kind: 'namespace', name: org.name });
    return (await this.meta.teams.list(org.id)).map((t) => ({
      org: org.name,
      name: t.name,
      description: t.description,
      level: grants.find((g) => g.grantee.kind === 'team' && g.grantee.id === t.id)?.level ?? null,
      memberCount: t.members,
    }));
  }

  private async team(org: AccountRecord, name: string) {
    const team = await this.meta.teams.byName(org.id, name);
    if (!team) throw new BerthError('NOT_FOUND', `no team ${name} in ${org.name}`);
    return team;
  }

  /** Creates a team (owners). */
  async createTeam(
    actor: Actor,
    orgName: string,
    name: string,
    description?: string | null,
  ): Promise<TeamView> {
    const org = await this.org(orgName);
    await this.requireOwner(actor, org, 'create teams');
    refuseProblem(teamNameProblem(name));
    if (await this.meta.teams.byName(org.id, name))
      throw new BerthError('CONFLICT', `team ${name} exists in ${orgName}`);
    const entry = { action: 'team.create', target: `${orgName}/${name}` };
    const team = await this.changed(actor, entry, (tx) =>
      tx.teams.create(org.id, name, description ?? null),
    );
    return {
      org: orgName,
      name: team.name,
      description: team.description,
      level: null,
      members: [],
    };
  }

  /** One team with its members (organisation members and administrators). */
  async getTeam(actor: Actor, orgName: string, name: string): Promise<TeamView> {
    const org = await this.org(orgName);
    if (!actsAsAdmin(actor.principal) && !(await this.roleIn(actor, org)))
      throw new BerthError('DENIED', `only members of ${orgName} may see its teams`);
    const team = await this.team(org, name);
    const view = (await this.teams(org)).find((t) => t.name === name)!;
    return { ...view, members: await this.meta.teams.members(team.id) };
  }

  /** Deletes a team and its grants (owners). */
  async deleteTeam(actor: Actor, orgName: string, name: string): Promise<void> {
    const org = await this.org(orgName);
    await this.requireOwner(actor, org, 'delete teams');
    const team = await this.team(org, name);
    const entry = { action: 'team.delete', target: `${orgName}/${name}` };
    await this.changed(actor, entry, (tx) => tx.teams.delete(team.id));
  }

  /** Adds a user to a team, making them an organisation member if they were not (owners). */
  async addTeamMember(actor: Actor, orgName: string, name: string, user: string): Promise<void> {
    const org = await this.org(orgName);
    await this.requireOwner(actor, org, 'change team members');
    const team = await this.team(org, name);
    const account = await this.user(user);
    const role = (await this.meta.accounts.members(org.id)).find((m) => m.name === user)?.role;
    const entry = { action: 'team.member.add', target: `${orgName}/${name}`, detail: { user } };
    await this.changed(actor, entry, async (tx) => {
      if (!role) await tx.accounts.setMember(org.id, account.id, 'member');
      await tx.teams.addMember(team.id, account.id);
    });
  }

  /** Removes a user from a team (owners). */
  async removeTeamMember(actor: Actor, orgName: string, name: string, user: string): Promise<void> {
    const org = await this.org(orgName);
    await this.requireOwner(actor, org, 'change team members');
    const team = await this.team(org, name);
    const account = await this.user(user);
    const entry = { action: 'team.member.remove', target: `${orgName}/${name}`, detail: { user } };
    await this.changed(actor, entry, async (tx) => {
      if (!(await tx.teams.removeMember(team.id, account.id)))
        throw new BerthError('NOT_FOUND', `${user} is not in team ${orgName}/${name}`);
    });
  }

  /** Sets (or with null removes) a team's level on every repository of the organisation (owners). */
  async setTeamLevel(
    actor: Actor,
    orgName: string,
    name: string,
    level: AccessLevel | null,
  ): Promise<void> {
    const org = await this.org(orgName);
    await this.requireOwner(actor, org, 'change team permissions');
    const team = await this.team(org, name);
    const target = { kind: 'namespace' as const, name: orgName };
    const entry = { action: 'team.permission', target: `${orgName}/${name}`, detail: { level } };
    await this.changed(actor, entry, async (tx) => {
      if (level) await tx.grants.set(target, { kind: 'team', id: team.id }, level);
      else await tx.grants.remove(target, { kind: 'team', id: team.id });
    });
  }
}
