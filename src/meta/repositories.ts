/** Repositories: the names that hold blobs, manifests and tags. */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
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

/**
 * Which repositories a listing may show: every one, or the public ones (when `publicToo`) and
 * those named (private ones a caller was judged able to read).
 */
export type ListingScope = { all: true } | { all: false; publicToo: boolean; names: string[] };

/** What a listing shows: its scope, narrowed to a namespace, a visibility and search terms. */
export interface ListingFilter {
  scope: ListingScope;
  namespace?: string;
  visibility?: string;
  /** Lower-case words each of which the name or the description contains. */
  terms?: string[];
}

/** The names under `namespace/` lie between these two ('0' is the character after '/'). */
function namespaceBounds(namespace: string): [string, string] {
  return [`${namespace}/`, `${namespace}0`];
}

/** `text` as a LIKE pattern matching it anywhere (with `\` escaping the wildcards). */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Looks up and creates repositories. */
export class RepositoryStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres' = 'sqlite',
  ) {}

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
      if (options.namespace !== undefined) {
        const [after, before] = namespaceBounds(options.namespace);
        r = r.where('name', '>', after).where('name', '<', before);
      }
      return r;
    });
  }

  /**
   * The repositories `filter` shows, by name (`desc`: reversed), `offset` of them skipped or,
   * ascending, only those named after `after`.
   */
  async listed(
    filter: ListingFilter,
    page: { order?: 'asc' | 'desc'; offset?: number; limit?: number; after?: string } = {},
  ): Promise<RepositoryInfo[]> {
    if (this.empty(filter.scope)) return [];
    return this.infos((q) => {
      let r = this.filtered(q, filter).orderBy('name', page.order ?? 'asc');
      if (page.after !== undefined) r = r.where('name', '>', page.after);
      if (page.limit !== undefined) r = r.limit(page.limit).offset(page.offset ?? 0);
      return r;
    });
  }

  /** How many repositories `filter` shows. */
  async countListed(filter: ListingFilter): Promise<number> {
    if (this.empty(filter.scope)) return 0;
    const row = await this.filtered(
      this.db.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('n')),
      filter,
    ).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The namespaces (first name components) of the repositories `scope` shows, sorted. */
  async namespacesListed(scope: ListingScope): Promise<string[]> {
    if (this.empty(scope)) return [];
    const head =
      this.dialect === 'postgres'
        ? sql<string>`split_part(name, '/', 1)`
        : sql<string>`substr(name, 1, instr(name, '/') - 1)`;
    const rows = await this.filtered(
      this.db
        .selectFrom('repositories')
        .select(head.as('namespace'))
        .distinct()
        .where('name', 'like', '%/%'),
      { scope },
    ).execute();
    return rows.map((r) => r.namespace).sort();
  }

  /** Names of the private repositories under `namespaces` or named in `names`. */
  async privateAmong(namespaces: string[], names: string[]): Promise<string[]> {
    if (namespaces.length === 0 && names.length === 0) return [];
    const rows = await this.db
      .selectFrom('repositories')
      .select('name')
      .where('visibility', '=', 'private')
      .where((eb) =>
        eb.or([
          ...namespaces.map((ns) => {
            const [after, before] = namespaceBounds(ns);
            return eb.and([eb('name', '>', after), eb('name', '<', before)]);
          }),
          ...(names.length > 0 ? [eb('name', 'in', names)] : []),
        ]),
      )
      .execute();
    return rows.map((r) => r.name);
  }

  private empty(scope: ListingScope): boolean {
    return !scope.all && !scope.publicToo && scope.names.length === 0;
  }

  /** `q` narrowed to what `filter` shows. */
  private filtered<O>(
    q: SelectQueryBuilder<Database, 'repositories', O>,
    filter: ListingFilter,
  ): SelectQueryBuilder<Database, 'repositories', O> {
    let r = q;
    const scope = filter.scope;
    if (!scope.all) {
      r = r.where((eb) =>
        eb.or([
          ...(scope.publicToo ? [eb('visibility', '=', 'public')] : []),
          ...(scope.names.length > 0 ? [eb('name', 'in', scope.names)] : []),
        ]),
      );
    }
    if (filter.namespace !== undefined) {
      const [after, before] = namespaceBounds(filter.namespace);
      r = r.where('name', '>', after).where('name', '<', before);
    }
    if (filter.visibility !== undefined) r = r.where('visibility', '=', filter.visibility);
    for (const term of filter.terms ?? []) {
      const pattern = containing(term);
      r = r.where(
        sql<boolean>`(lower(name) like ${pattern} escape '\\' or lower(coalesce(description, '')) like ${pattern} escape '\\')`,
      );
    }
    return r;
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
