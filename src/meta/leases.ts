/** Leases in the database: who runs a piece of background work now, until when. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Takes, renews and releases named leases. */
export class LeaseStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Takes lease `name` for `holder` until `now + ttlMs` when it is free, expired or already
   * `holder`'s (run inside a write transaction); true when `holder` holds it afterwards.
   */
  async acquire(name: string, holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const current = await this.db
      .selectFrom('leases')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (current && current.holder !== holder && Number(current.expires_at) > now) return false;
    const row = { name, holder, expires_at: now + ttlMs };
    await this.db
      .insertInto('leases')
      .values(row)
      .onConflict((oc) => oc.column('name').doUpdateSet({ holder, expires_at: row.expires_at }))
      .execute();
    return true;
  }

  /** The current holder of `name` and until when, if the lease is live. */
  async holder(
    name: string,
    now = Date.now(),
  ): Promise<{ holder: string; until: number } | undefined> {
    const row = await this.db
      .selectFrom('leases')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return undefined;
    return { holder: row.holder, until: Number(row.expires_at) };
  }

  /** Gives lease `name` up if `holder` has it. */
  async release(name: string, holder: string): Promise<void> {
    await this.db
      .deleteFrom('leases')
      .where('name', '=', name)
      .where('holder', '=', holder)
      .execute();
  }
}
