/** Migration 0002: accounts, organisations, teams, grants, tokens, signing keys and the audit log. */
import type { ColumnDefinitionBuilder, Kysely, Migration } from 'kysely';
import type { SqlDialectName } from './migrations.js';

type Db = Kysely<unknown>;

function ownedByAccount(c: ColumnDefinitionBuilder): ColumnDefinitionBuilder {
  return c.notNull().references('accounts.id').onDelete('cascade');
}

async function createAccounts(db: Db, id: 'serial' | 'integer'): Promise<void> {
  await db.schema
    .createTable('accounts')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('email', 'text')
    .addColumn('full_name', 'text')
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('default_level', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('org_members')
    .addColumn('org_id', 'integer', ownedByAccount)
    .addColumn('user_id', 'integer', ownedByAccount)
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('org_members_pk', ['org_id', 'user_id'])
    .execute();
  await db.schema.createIndex('org_members_user').on('org_members').column('user_id').execute();
}

async function createTeamsAndGrants(db: Db, id: 'serial' | 'integer'): Promise<void> {
  await db.schema
    .createTable('teams')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('org_id', 'integer', ownedByAccount)
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('teams_org_name', ['org_id', 'name'])
    .execute();
  await db.schema
    .createTable('team_members')
    .addColumn('team_id', 'integer', (c) => c.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', ownedByAccount)
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
    .execute();
  await db.schema.createIndex('team_members_user').on('team_members').column('user_id').execute();
  await db.schema
    .createTable('grants')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('target_kind', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('grantee_kind', 'text', (c) => c.notNull())
    .addColumn('grantee_id', 'integer', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('grants_unique', ['target_kind', 'target', 'grantee_kind', 'grantee_id'])
    .execute();
  await db.schema
    .createIndex('grants_grantee')
    .on('grants')
    .columns(['grantee_kind', 'grantee_id'])
    .execute();
}

async function createCredentials(db: Db, id: 'serial' | 'integer'): Promise<void> {
  await db.schema
    .createTable('access_tokens')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('account_id', 'integer', ownedByAccount)
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('last_used_from', 'text')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema
    .createTable('refresh_tokens')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('account_id', 'integer', ownedByAccount)
    .addColumn('client_id', 'text')
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('private_jwk', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .execute();
}

async function createAuditLog(db: Db, id: 'serial' | 'integer'): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'at']).execute();
}

/** Migration 0002 for `dialect`. */
export function accountsMigration(dialect: SqlDialectName): Migration {
  const id = dialect === 'postgres' ? 'serial' : 'integer';
  return {
    async up(db: Db): Promise<void> {
      await db.schema
        .alterTable('repositories')
        .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('private'))
        .execute();
      await db.schema.alterTable('repositories').addColumn('description', 'text').execute();
      await db.schema.alterTable('repositories').addColumn('created_by', 'text').execute();
      await createAccounts(db, id);
      await createTeamsAndGrants(db, id);
      await createCredentials(db, id);
      await createAuditLog(db, id);
    },
  };
}
