/** Repositories: the names that hold blobs, manifests and tags. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Who may see a repository without a grant. */
export type Visibility = 'public' | 'private';

/** A repository's settings and provenance. */
export interface RepositoryInfo {
  id: number;
  name: string;
  visibility: Visibility;
  description: string | null;
  createdBy: string | null;
  createdAt: number;
}

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

  /** Creates repository `name` with its settings unless it exists; true when created. */
  async create(
    name: string,
    settings: { visibility: Visibility; description?: string | null; createdBy: string | null },
  ): Promise<boolean> {
    const result = await this.db
      .insertInto('repositories')
      .values({
        name,
        created_at: Date.now(),
        visibility: settings.visibility,
        description: settings.description ?? null,
        created_by: settings.createdBy,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** Repository `name`'s settings, or undefined. */
  async info(name: string): Promise<RepositoryInfo | undefined> {
    const rows = await this.infos((q) => q.where('name', '=', name).limit(1));
    return rows[0];
  }

  /** Up to `limit` repositories after `last` (by name), optionally only under `namespace/`. */
  async listInfo(options: {
    limit: number;
    last?: string;
    namespace?: string;
  }): Promise<RepositoryInfo[]> {
    return this.infos((q) => {
      let r = q.orderBy('name').limit(options.limit);
      if (options.last !== undefined) r = r.where('name', '>', options.last);
      if (options.namespace !== undefined)
        r = r
          .where('name', '>', `${options.namespace}/`)
          .where('name', '<', `${options.namespace}0`);
      return r;
    });
  }

  /** Every repository (for search and listings). */
  async all(): Promise<RepositoryInfo[]> {
    return this.infos((q) => q.orderBy('name'));
  }

  private async infos(
    shape: (
      q: ReturnType<RepositoryStore['selectInfo']>,
    ) => ReturnType<RepositoryStore['selectInfo']>,
  ): Promise<RepositoryInfo[]> {
    const rows = await shape(this.selectInfo()).execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      visibility: r.visibility === 'public' ? 'public' : 'private',
      description: r.description,
      createdBy: r.created_by,
      createdAt: r.created_at,
    }));
  }

  private selectInfo() {
    return this.db
      .selectFrom('repositories')
      .select(['id', 'name', 'visibility', 'description', 'created_by', 'created_at']);
  }

  /** Changes repository `name`'s visibility and/or description. */
  async update(
    name: string,
    patch: { visibility?: Visibility; description?: string | null },
  ): Promise<void> {
    const values: { visibility?: string; description?: string | null } = {};
    if (patch.visibility !== undefined) values.visibility = patch.visibility;
    if (patch.description !== undefined) values.description = patch.description;
    if (Object.keys(values).length === 0) return;
    await this.db.updateTable('repositories').set(values).where('name', '=', name).execute();
  }

  /**
   * Moves every repository under `from/` to `to/` (with the grants naming them); returns the
   * names moved. The caller runs it in a write transaction and checks for collisions first.
   */
  async moveNamespace(from: string, to: string): Promise<string[]> {
    const moved = (await this.listInfo({ limit: 1_000_000, namespace: from })).map((r) => r.name);
    for (const name of moved) {
      const target = `${to}/${name.slice(from.length + 1)}`;
      await this.db
        .updateTable('repositories')
        .set({ name: target })
        .where('name', '=', name)
        .execute();
      await this.db
        .updateTable('grants')
        .set({ target })
        .where('target_kind', '=', 'repository')
        .where('target', '=', name)
        .execute();
    }
    return moved;
  }

  /** Removes repository `name` with its manifests, tags, links and uploads; blobs stay for GC. */
  async delete(name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('repositories')
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
