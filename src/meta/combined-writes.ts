/**
 * Several writes as one PostgreSQL statement: each a data-modifying WITH clause of a final
 * statement. The clauses share one snapshot (none may depend on seeing another's rows, except
 * through what one returns), run to completion whether or not the final statement reads them,
 * and have their foreign keys checked at the statement's end. SQLite has no writes in WITH.
 */
import type { QueryCreator } from 'kysely';
import type { Database } from './schema.js';

/** One write: a statement built on `db` (which may name the clauses before it). */
export type Write = (db: QueryCreator<Database>) => {
  compile(): unknown;
  execute(): Promise<unknown>;
};

/** `db` with each of `writes` as a WITH clause of the given name, for the final statement. */
export function withWrites(
  db: QueryCreator<Database>,
  writes: [name: string, write: Write][],
): QueryCreator<Database> {
  let creator = db;
  for (const [name, write] of writes)
    creator = creator.with(name, write as never) as unknown as QueryCreator<Database>;
  return creator;
}
