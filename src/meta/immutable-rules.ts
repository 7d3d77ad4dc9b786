/** Immutable-tag rules: which tags of which repositories can be created once and never moved. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A rule: on `scope` (a repository `acme/app`, or a namespace `acme/`), tags matching `patterns` but none of `exclusions`. */
export interface ImmutableRuleRecord {
  id: number;
  scope: string;
  patterns: string[];
  exclusions: string[];
  createdBy: string | null;
  createdAt: number;
}

/** Reads and writes immutable-tag rules. */
export class ImmutableRuleStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every rule, oldest first. */
  async list(): Promise<ImmutableRuleRecord[]> {
    const rows = await this.db.selectFrom('immutable_rules').selectAll().orderBy('id').execute();
    return rows.map((r) => ({
      id: Number(r.id),
      scope: r.scope,
      patterns: JSON.parse(r.patterns) as string[],
      exclusions: JSON.parse(r.exclusions) as string[],
      createdBy: r.created_by,
      createdAt: Number(r.created_at),
    }));
  }

  /** Adds a rule; its id. */
  async add(rule: Omit<ImmutableRuleRecord, 'id'>): Promise<number> {
    const row = await this.db
      .insertInto('immutable_rules')
      .values({
        scope: rule.scope,
        patterns: JSON.stringify(rule.patterns),
        exclusions: JSON.stringify(rule.exclusions),
        created_by: rule.createdBy,
        created_at: rule.createdAt,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Removes rule `id`; false when there was none. */
  async remove(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('immutable_rules').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
