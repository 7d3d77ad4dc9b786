/** Grants: a permission level given to a user or a team on a repository or a whole namespace. */
import type { Kysely } from 'kysely';
import type { AccessLevel } from './accounts.js';
import type { Database } from './schema.js';

/** What a grant applies to. */
export type GrantTarget = { kind: 'repository' | 'namespace'; name: string };
/** Who a grant is given to. */
export type Grantee = { kind: 'user' | 'team'; id: number };

/** A grant, with the grantee's display name (`user` or `org/team`). */
export interface GrantRecord {
  target: GrantTarget;
  grantee: Grantee & { name: string };
  level: AccessLevel;
}

/** Reads and writes grants. */
export class GrantStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Gives `grantee` `level` on `target`, replacing an earlier level. */
  async set(target: GrantTarget, grantee: Grantee, level: AccessLevel): Promise<void> {
    await this.db
      .insertInto('grants')
      .values({
        target_kind: target.kind,
        target: target.name,
        grantee_kind: grantee.kind,
        grantee_id: grantee.id,
        level,
        created_at: Date.now(),
      })
      .onConflict((oc) =>
        oc.columns(['target_kind', 'target', 'grantee_kind', 'grantee_id']).doUpdateSet({ level }),
      )
      .execute();
  }

  /** Takes `grantee`'s grant on `target` away; true when there was one. */
  async remove(target: GrantTarget, grantee: Grantee): Promise<boolean> {
    const result = await this.db
      .deleteFrom('grants')
      .where('target_kind', '=', target.kind)
      .where('target', '=', target.name)
      .where('grantee_kind', '=', grantee.kind)
      .where('grantee_id', '=', grantee.id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Removes every grant on `target`. */
  async removeAllOn(target: GrantTarget): Promise<void> {
    await this.db
      .deleteFrom('grants')
      .where('target_kind', '=', target.kind)
      .where('target', '=', target.name)
      .execute();
  }

  /** The grants on `target`. */
  async on(target: GrantTarget): Promise<GrantRecord[]> {
    const rows = await this.db
      .selectFrom('grants')
      .leftJoin('accounts as u', (j) =>
        j.onRef('u.id', '=', 'grants.grantee_id').on('grants.grantee_kind', '=', 'user'),
      )
      .leftJoin('teams as t', (j) =>
        j.onRef('t.id', '=', 'grants.grantee_id').on('grants.grantee_kind', '=', 'team'),
      )
      .leftJoin('accounts as o', 'o.id', 't.org_id')
      .select([
        'grants.target_kind',
        'grants.target',
        'grants.grantee_kind',
        'grants.grantee_id',
        'grants.level',
        'u.name as user_name',
        't.name as team_name',
        'o.name as org_name',
      ])
      .where('grants.target_kind', '=', target.kind)
      .where('grants.target', '=', target.name)
      .execute();
    return rows.map((r) => ({
      target,
      grantee: {
        kind: r.grantee_kind as Grantee['kind'],
        id: r.grantee_id,
        name: r.grantee_kind === 'user' ? (r.user_name ?? '?') : `${r.org_name}/${r.team_name}`,
      },
      level: r.level as AccessLevel,
    }));
  }

  /** Every grant given to user `userId` directly or to one of `teamIds`. */
  async of(userId: number, teamIds: number[]): Promise<Omit<GrantRecord, 'grantee'>[]> {
    const rows = await this.db
      .selectFrom('grants')
      .select(['target_kind', 'target', 'level'])
      .where((eb) =>
        eb.or([
          eb.and([eb('grantee_kind', '=', 'user'), eb('grantee_id', '=', userId)]),
          ...(teamIds.length > 0
            ? [eb.and([eb('grantee_kind', '=', 'team'), eb('grantee_id', 'in', teamIds)])]
            : []),
        ]),
      )
      .execute();
    return rows.map((r) => ({
      target: { kind: r.target_kind as GrantTarget['kind'], name: r.target },
      level: r.level as AccessLevel,
    }));
  }
}
