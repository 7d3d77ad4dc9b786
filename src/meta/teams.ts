/** Teams of an organisation and their members. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A team. */
export interface TeamRecord {
  id: number;
  orgId: number;
  name: string;
  description: string | null;
  createdAt: number;
}

/** A team as seen from one of its members. */
export interface TeamMembership {
  teamId: number;
  team: string;
  orgId: number;
  org: string;
}

/** Reads and writes teams. */
export class TeamStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates team `name` in `orgId`; throws when it exists. */
  async create(orgId: number, name: string, description: string | null): Promise<TeamRecord> {
    await this.db
      .insertInto('teams')
      .values({ org_id: orgId, name, description, created_at: Date.now() })
      .execute();
    const team = await this.byName(orgId, name);
    if (!team) throw new Error(`team ${name} vanished while being created`);
    return team;
  }

  /** Team `name` of `orgId`, or undefined. */
  async byName(orgId: number, name: string): Promise<TeamRecord | undefined> {
    const row = await this.db
      .selectFrom('teams')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('name', '=', name)
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        orgId: row.org_id,
        name: row.name,
        description: row.description,
        createdAt: row.created_at,
      }
    );
  }

  /** The teams of `orgId` with their member counts, by name. */
  async list(orgId: number): Promise<(TeamRecord & { members: number })[]> {
    const rows = await this.db
      .selectFrom('teams')
      .leftJoin('team_members', 'team_members.team_id', 'teams.id')
      .select((eb) => [
        'teams.id',
        'teams.org_id',
        'teams.name',
        'teams.description',
        'teams.created_at',
        eb.fn.count<number>('team_members.user_id').as('members'),
      ])
      .where('teams.org_id', '=', orgId)
      .groupBy(['teams.id', 'teams.org_id', 'teams.name', 'teams.description', 'teams.created_at'])
      .orderBy('teams.name')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      orgId: r.org_id,
      name: r.name,
      description: r.description,
      createdAt: r.created_at,
      members: Number(r.members),
    }));
  }

  /** Removes team `id`, its memberships and its grants. */
  async delete(id: number): Promise<void> {
    await this.db
      .deleteFrom('grants')
      .where('grantee_kind', '=', 'team')
      .where('grantee_id', '=', id)
      .execute();
    await this.db.deleteFrom('teams').where('id', '=', id).execute();
  }

  /** Adds `userId` to team `teamId` (no change when already in it). */
  async addMember(teamId: number, userId: number): Promise<void> {
    await this.db
      .insertInto('team_members')
      .values({ team_id: teamId, user_id: userId, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['team_id', 'user_id']).doNothing())
      .execute();
  }

  /** Removes `userId` from team `teamId`; true when they were in it. */
  async removeMember(teamId: number, userId: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('team_members')
      .where('team_id', '=', teamId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The names of team `teamId`'s members. */
  async members(teamId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('team_members')
      .innerJoin('accounts', 'accounts.id', 'team_members.user_id')
      .select('accounts.name')
      .where('team_members.team_id', '=', teamId)
      .orderBy('accounts.name')
      .execute();
    return rows.map((r) => r.name);
  }

  /** The teams `userId` is in. */
  async teamsOf(userId: number): Promise<TeamMembership[]> {
    const rows = await this.db
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.id', 'team_members.team_id')
      .innerJoin('accounts', 'accounts.id', 'teams.org_id')
      .select(['teams.id', 'teams.name', 'teams.org_id', 'accounts.name as org'])
      .where('team_members.user_id', '=', userId)
      .execute();
    return rows.map((r) => ({ teamId: r.id, team: r.name, orgId: r.org_id, org: r.org }));
  }
}
