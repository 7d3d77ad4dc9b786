/** Repositories: the names that hold blobs, manifests and tags. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Looks up and creates repositories. */
export class RepositoryStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The id of repository `name`, or undefined. */
  async find(name: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('repositories')
      .select('id')
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.id;
  }

  /** The id of repository `name`, created when it does not exist yet. */
  async ensure(name: string): Promise<number> {
    await this.db
      .insertInto('repositories')
      .values({ name, created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const id = await this.find(name);
    if (id === undefined) throw new Error(`repository ${name} vanished while being created`);
    return id;
  }

  /** Up to `limit` repository names after `last`, in lexical order. */
  async list(limit: number, last?: string): Promise<string[]> {
    let q = this.db.selectFrom('repositories').select('name').orderBy('name').limit(limit);
    if (last !== undefined) q = q.where('name', '>', last);
    return (await q.execute()).map((r) => r.name);
  }

  /** Names of repositories holding blob `digest`. */
  async holdingBlob(digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('repository_blobs')
      .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
      .select('repositories.name')
      .where('repository_blobs.digest', '=', digest)
      .execute();
    return rows.map((r) => r.name);
  }
}
