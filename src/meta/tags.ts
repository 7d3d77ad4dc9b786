/** Tags: names pointing at manifests of a repository. */
import type { Kysely, QueryCreator } from 'kysely';
import type { Database } from './schema.js';

/** The statement pointing tags `names` of repository `repositoryId` at `digest`, by `pushedBy`. */
export function putTagsQuery(
  db: QueryCreator<Database>,
  repositoryId: number,
  names: string[],
  digest: string,
  pushedBy: string | null,
) {
  const now = Date.now();
  return db
    .insertInto('tags')
    .values(
      names.map((name) => ({
        repository_id: repositoryId,
        name,
        manifest_digest: digest,
        updated_at: now,
        pushed_by: pushedBy,
      })),
    )
    .onConflict((oc) =>
      oc
        .columns(['repository_id', 'name'])
        .doUpdateSet({ manifest_digest: digest, updated_at: now, pushed_by: pushedBy }),
    );
}

/** Reads and writes tags. */
export class TagStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Points tag `name` of repository `repositoryId` at manifest `digest`, pushed by `pushedBy`. */
  async put(
    repositoryId: number,
    name: string,
    digest: string,
    pushedBy: string | null = null,
  ): Promise<void> {
    await putTagsQuery(this.db, repositoryId, [name], digest, pushedBy).execute();
  }

  /** The digest tag `name` points at, or undefined. */
  async resolve(repositoryId: number, name: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('tags')
      .select('manifest_digest')
      .where('repository_id', '=', repositoryId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.manifest_digest;
  }

  /** Removes tag `name`; true when it existed. */
  /** The tags of `repositoryId` that point at manifest `digest`. */
  async pointingAt(repositoryId: number, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tags')
      .select('name')
      .where('repository_id', '=', repositoryId)
      .where('manifest_digest', '=', digest)
      .execute();
    return rows.map((r) => r.name);
  }

  async delete(repositoryId: number, name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('tags')
      .where('repository_id', '=', repositoryId)
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The tags of repository `repositoryId` whose names end in `suffix` (`.sig`), with digests. */
  async withSuffix(
    repositoryId: number,
    suffix: string,
  ): Promise<{ name: string; digest: string }[]> {
    const rows = await this.db
      .selectFrom('tags')
      .select(['name', 'manifest_digest'])
      .where('repository_id', '=', repositoryId)
      .where('name', 'like', `%${suffix}`)
      .execute();
    return rows
      .filter((r) => r.name.endsWith(suffix))
      .map((r) => ({ name: r.name, digest: r.manifest_digest }));
  }

  /** Up to `limit` tag names of repository `repositoryId` after `last`, in lexical order. */
  async list(repositoryId: number, limit: number, last?: string): Promise<string[]> {
    let q = this.db
      .selectFrom('tags')
      .select('name')
      .where('repository_id', '=', repositoryId)
      .orderBy('name')
      .limit(limit);
    if (last !== undefined) q = q.where('name', '>', last);
    return (await q.execute()).map((r) => r.name);
  }
}
