/** Names of deleted accounts, kept so nobody else can take over what the name once meant. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A retired account name. */
export interface RetiredName {
  name: string;
  kind: 'user' | 'org';
  retiredAt: number;
  retiredBy: string | null;
}

/** Reads and writes retired names. */
export class RetiredNameStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The record of `name` when it is retired. */
  async find(name: string): Promise<RetiredName | undefined> {
    const row = await this.db
      .selectFrom('retired_names')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row && RetiredNameStore.view(row);
  }

  /** Every retired name, by name. */
  async list(): Promise<RetiredName[]> {
    const rows = await this.db.selectFrom('retired_names').selectAll().orderBy('name').execute();
    return rows.map(RetiredNameStore.view);
  }

  /** Retires `name` (kept as it was when retired already). */
  async retire(name: string, kind: 'user' | 'org', by: string | null): Promise<void> {
    await this.db
      .insertInto('retired_names')
      .values({ name, kind, retired_at: Date.now(), retired_by: by })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }

  /** Frees `name`; false when it was not retired. */
  async free(name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('retired_names')
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  private static view(row: {
    name: string;
    kind: string;
    retired_at: number;
    retired_by: string | null;
  }): RetiredName {
    return {
      name: row.name,
      kind: row.kind === 'org' ? 'org' : 'user',
      retiredAt: Number(row.retired_at),
      retiredBy: row.retired_by,
    };
  }
}
