/** Directory providers saved in the database: settings as JSON, the bind password sealed. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A saved provider. `settings` holds everything but the bind password. */
export interface StoredProvider {
  name: string;
  position: number;
  settings: Record<string, unknown>;
  sealedBindPassword: string;
  updatedBy: string | null;
  updatedAt: number;
}

/** Reads and writes saved directory providers. */
export class IdentityProviderStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every saved provider, in login order (then by name). */
  async list(): Promise<StoredProvider[]> {
    const rows = await this.db
      .selectFrom('identity_providers')
      .selectAll()
      .orderBy('position')
      .orderBy('name')
      .execute();
    return rows.map((r) => ({
      name: r.name,
      position: Number(r.position),
      settings: JSON.parse(r.settings) as Record<string, unknown>,
      sealedBindPassword: r.sealed_bind_password,
      updatedBy: r.updated_by,
      updatedAt: Number(r.updated_at),
    }));
  }

  /** The newest change time of any saved provider with their count (cheap staleness check). */
  async version(): Promise<string> {
    const row = await this.db
      .selectFrom('identity_providers')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('updated_at').as('at')])
      .executeTakeFirst();
    return `${Number(row?.n ?? 0)}:${Number(row?.at ?? 0)}`;
  }

  /** Saves `provider` (made or replaced whole). */
  async put(provider: Omit<StoredProvider, 'updatedAt'>): Promise<void> {
    const row = {
      name: provider.name,
      position: provider.position,
      settings: JSON.stringify(provider.settings),
      sealed_bind_password: provider.sealedBindPassword,
      updated_by: provider.updatedBy,
      updated_at: Date.now(),
    };
    await this.db
      .insertInto('identity_providers')
      .values(row)
      .onConflict((oc) => oc.column('name').doUpdateSet(row))
      .execute();
  }

  /** Removes provider `name`; false when there was none. */
  async remove(name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('identity_providers')
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
