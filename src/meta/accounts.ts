/** Accounts (users and organisations) and organisation membership. */
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { AccountsTable } from './schema-accounts.js';
import type { Database } from './schema.js';

/** A permission level, lowest first. */
export type AccessLevel = 'read' | 'write' | 'admin';
/** What an account is. */
export type AccountKind = 'user' | 'org';
/** A member's role in an organisation. */
export type OrgRole = 'owner' | 'member';

/** A user or an organisation. */
export interface AccountRecord {
  id: number;
  name: string;
  kind: AccountKind;
  passwordHash: string | null;
  email: string | null;
  fullName: string | null;
  isAdmin: boolean;
  disabled: boolean;
  defaultLevel: AccessLevel | null;
  createdAt: number;
  updatedAt: number;
  /** The identity provider the account comes from (null: a local account). */
  provider: string | null;
  /** The provider's stable id for it (a DN, entryUUID or objectGUID). */
  externalId: string | null;
}

/** A new account's fields. */
export interface NewAccount {
  name: string;
  kind: AccountKind;
  passwordHash?: string | null;
  email?: string | null;
  fullName?: string | null;
  provider?: string | null;
  externalId?: string | null;
  isAdmin?: boolean;
}

/** Fields of an account that can change. */
export interface AccountPatch {
  passwordHash?: string | null;
  provider?: string | null;
  externalId?: string | null;
  email?: string | null;
  fullName?: string | null;
  isAdmin?: boolean;
  disabled?: boolean;
  defaultLevel?: AccessLevel | null;
}

/** An organisation as seen from one of its members. */
export interface Membership {
  orgId: number;
  org: string;
  role: OrgRole;
  defaultLevel: AccessLevel | null;
}

function toRecord(row: Selectable<AccountsTable>): AccountRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as AccountKind,
    passwordHash: row.password_hash,
    email: row.email,
    fullName: row.full_name,
    isAdmin: row.is_admin === 1,
    disabled: row.disabled === 1,
    defaultLevel: row.default_level as AccessLevel | null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    provider: row.provider,
    externalId: row.external_id,
  };
}

/** Reads and writes accounts and organisation members. */
export class AccountStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates an account; throws when the name is taken (unique constraint). */
  async create(account: NewAccount): Promise<AccountRecord> {
    const now = Date.now();
    await this.db
      .insertInto('accounts')
      .values({
        name: account.name,
        kind: account.kind,
        password_hash: account.passwordHash ?? null,
        email: account.email ?? null,
        full_name: account.fullName ?? null,
        is_admin: account.isAdmin ? 1 : 0,
        disabled: 0,
        default_level: null,
        provider: account.provider ?? null,
        external_id: account.externalId ?? null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const created = await this.byName(account.name);
    if (!created) throw new Error(`account ${account.name} vanished while being created`);
    return created;
  }

  /** The account called `name`, or undefined. */
  async byName(name: string): Promise<AccountRecord | undefined> {
    const row = await this.db
      .selectFrom('accounts')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** The account `id`, or undefined. */
  async byId(id: number): Promise<AccountRecord | undefined> {
    const row = await this.db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Accounts of `kind` in name order. */
  async list(kind: AccountKind): Promise<AccountRecord[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .selectAll()
      .where('kind', '=', kind)
      .orderBy('name')
      .execute();
    return rows.map(toRecord);
  }

  /** How many enabled administrators exist. */
  async countAdmins(): Promise<number> {
    const row = await this.db
      .selectFrom('accounts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('is_admin', '=', 1)
      .where('disabled', '=', 0)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Changes the given fields of account `id`. */
  async update(id: number, patch: AccountPatch): Promise<void> {
    const values: Updateable<AccountsTable> = { updated_at: Date.now() };
    if (patch.passwordHash !== undefined) values.password_hash = patch.passwordHash;
    if (patch.email !== undefined) values.email = patch.email;
    if (patch.fullName !== undefined) values.full_name = patch.fullName;
    if (patch.isAdmin !== undefined) values.is_admin = patch.isAdmin ? 1 : 0;
    if (patch.disabled !== undefined) values.disabled = patch.disabled ? 1 : 0;
    if (patch.defaultLevel !== undefined) values.default_level = patch.defaultLevel;
    if (patch.provider !== undefined) values.provider = patch.provider;
    if (patch.externalId !== undefined) values.external_id = patch.externalId;
    await this.db.updateTable('accounts').set(values).where('id', '=', id).execute();
  }

  /** Removes account `id` with its memberships, teams and tokens, and grants made to it. */
  async delete(id: number): Promise<void> {
    await this.db
      .deleteFrom('grants')
      .where('grantee_kind', '=', 'user')
      .where('grantee_id', '=', id)
      .execute();
    await this.db
      .deleteFrom('grants')
      .where('grantee_kind', '=', 'team')
      .where('grantee_id', 'in', (eb) =>
        eb.selectFrom('teams').select('id').where('org_id', '=', id),
      )
      .execute();
    await this.db.deleteFrom('accounts').where('id', '=', id).execute();
  }

  /** Makes `userId` a member of `orgId` with `role` (or changes the role). */
  async setMember(orgId: number, userId: number, role: OrgRole): Promise<void> {
    await this.db
      .insertInto('org_members')
      .values({ org_id: orgId, user_id: userId, role, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ role }))
      .execute();
  }

  /** Removes `userId` from `orgId` and from its teams; true when they were a member. */
  async removeMember(orgId: number, userId: number): Promise<boolean> {
    await this.db
      .deleteFrom('team_members')
      .where('user_id', '=', userId)
      .where('team_id', 'in', (eb) =>
        eb.selectFrom('teams').select('id').where('org_id', '=', orgId),
      )
      .execute();
    const result = await this.db
      .deleteFrom('org_members')
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The members of `orgId` with their roles, by name. */
  async members(orgId: number): Promise<{ name: string; role: OrgRole }[]> {
    const rows = await this.db
      .selectFrom('org_members')
      .innerJoin('accounts', 'accounts.id', 'org_members.user_id')
      .select(['accounts.name', 'org_members.role'])
      .where('org_members.org_id', '=', orgId)
      .orderBy('accounts.name')
      .execute();
    return rows.map((r) => ({ name: r.name, role: r.role as OrgRole }));
  }

  /** The organisations `userId` belongs to. */
  async membershipsOf(userId: number): Promise<Membership[]> {
    const rows = await this.db
      .selectFrom('org_members')
      .innerJoin('accounts', 'accounts.id', 'org_members.org_id')
      .select(['accounts.id', 'accounts.name', 'accounts.default_level', 'org_members.role'])
      .where('org_members.user_id', '=', userId)
      .execute();
    return rows.map((r) => ({
      orgId: r.id,
      org: r.name,
      role: r.role as OrgRole,
      defaultLevel: r.default_level as AccessLevel | null,
    }));
  }
}
