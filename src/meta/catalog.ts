/** What the web UI and search read about repositories and tags: sizes, pushes, pulls, pushers. */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Figures of one repository. */
export interface RepositoryStats {
  /** Bytes of the distinct blobs linked to it plus its manifests. */
  size: number;
  tags: number;
  /** Last manifest push, or null when it has none. */
  pushedAt: number | null;
  pulls: number;
  lastPulledAt: number | null;
}

/** One tag with what its manifest is. */
export interface TagDetailRow {
  tag: string;
  digest: string;
  mediaType: string;
  manifestSize: number;
  /** Bytes of the blobs the manifest references (config and layers). */
  blobSize: number;
  pushedAt: number;
  pushedBy: string | null;
  lastPulledAt: number | null;
}

/** Pulls counted since the last flush, per repository and tag. */
export interface PullCounts {
  repository: string;
  tag?: string;
  count: number;
  at: number;
}

/** Aggregate reads for listings, and the pull counters. */
export class CatalogQueries {
  constructor(private readonly db: Kysely<Database>) {}

  /** Figures of every repository (or only of repositories `ids`), by id. */
  async stats(ids?: number[]): Promise<Map<number, RepositoryStats>> {
    if (ids !== undefined && ids.length === 0) return new Map();
    const some = ids !== undefined;
    const blobs = await this.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('blobs as b', 'b.digest', 'rb.digest')
      .select(['rb.repository_id as id', sql<number>`sum(b.size)`.as('bytes')])
      .$if(some, (q) => q.where('rb.repository_id', 'in', ids!))
      .groupBy('rb.repository_id')
      .execute();
    const manifests = await this.db
      .selectFrom('manifests')
      .select([
        'repository_id as id',
        sql<number>`sum(size)`.as('bytes'),
        sql<number>`max(created_at)`.as('pushed'),
      ])
      .$if(some, (q) => q.where('repository_id', 'in', ids!))
      .groupBy('repository_id')
      .execute();
    const tags = await this.db
      .selectFrom('tags')
      .select([
        'repository_id as id',
        sql<number>`count(*)`.as('n'),
        sql<number>`max(updated_at)`.as('pushed'),
      ])
      .$if(some, (q) => q.where('repository_id', 'in', ids!))
      .groupBy('repository_id')
      .execute();
    const repos = await this.db
      .selectFrom('repositories')
      .select(['id', 'pulls', 'last_pulled_at'])
      .$if(some, (q) => q.where('id', 'in', ids!))
      .execute();
    const out = new Map<number, RepositoryStats>();
    for (const r of repos)
      out.set(r.id, {
        size: 0,
        tags: 0,
        pushedAt: null,
        pulls: Number(r.pulls),
        lastPulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
      });
    const later = (a: number | null, b: unknown) =>
      b === null || b === undefined ? a : Math.max(a ?? 0, Number(b));
    for (const b of blobs) {
      const s = out.get(b.id);
      if (s) s.size += Number(b.bytes);
    }
    for (const m of manifests) {
      const s = out.get(m.id);
      if (!s) continue;
      s.size += Number(m.bytes);
      s.pushedAt = later(s.pushedAt, m.pushed);
    }
    for (const t of tags) {
      const s = out.get(t.id);
      if (!s) continue;
      s.tags = Number(t.n);
      s.pushedAt = later(s.pushedAt, t.pushed);
    }
    return out;
  }

  /** A repository's tags (all, or `limit` after `last`) with their manifests' media types and sizes, by name. */
  async tags(
    repositoryId: number,
    page: { limit?: number; last?: string } = {},
  ): Promise<TagDetailRow[]> {
    let q = this.db
      .selectFrom('tags as t')
      .innerJoin('manifests as m', (j) =>
        j
          .onRef('m.repository_id', '=', 't.repository_id')
          .onRef('m.digest', '=', 't.manifest_digest'),
      )
      .select([
        't.name as tag',
        't.manifest_digest as digest',
        'm.media_type as mediaType',
        'm.size as manifestSize',
        't.updated_at as pushedAt',
        't.pushed_by as pushedBy',
        't.last_pulled_at as lastPulledAt',
        (eb) =>
          eb
            .selectFrom('manifest_blobs as mb')
            .innerJoin('blobs as b', 'b.digest', 'mb.blob_digest')
            .select(sql<number>`coalesce(sum(b.size), 0)`.as('s'))
            .whereRef('mb.repository_id', '=', 't.repository_id')
            .whereRef('mb.manifest_digest', '=', 't.manifest_digest')
            .as('blobSize'),
      ])
      .where('t.repository_id', '=', repositoryId)
      .orderBy('t.name');
    if (page.last !== undefined) q = q.where('t.name', '>', page.last);
    if (page.limit !== undefined) q = q.limit(page.limit);
    const rows = await q.execute();
    return rows.map((r) => ({
      tag: r.tag,
      digest: r.digest,
      mediaType: r.mediaType,
      manifestSize: Number(r.manifestSize),
      blobSize: Number(r.blobSize ?? 0),
      pushedAt: Number(r.pushedAt),
      pushedBy: r.pushedBy,
      lastPulledAt: r.lastPulledAt === null ? null : Number(r.lastPulledAt),
    }));
  }

  /** How many tags repository `repositoryId` has. */
  async tagCount(repositoryId: number): Promise<number> {
    const row = await this.db
      .selectFrom('tags')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('repository_id', '=', repositoryId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Bytes of the blobs manifest `digest` of a repository references. */
  async blobBytes(repositoryId: number, digest: string): Promise<number> {
    const row = await this.db
      .selectFrom('manifest_blobs as mb')
      .innerJoin('blobs as b', 'b.digest', 'mb.blob_digest')
      .select(sql<number>`coalesce(sum(b.size), 0)`.as('s'))
      .where('mb.repository_id', '=', repositoryId)
      .where('mb.manifest_digest', '=', digest)
      .executeTakeFirst();
    return Number(row?.s ?? 0);
  }

  /** Counts of repositories, blobs (and their bytes) and manifests. */
  async totals(): Promise<{
    repositories: number;
    blobs: number;
    bytes: number;
    manifests: number;
  }> {
    const result = await sql<{
      repositories: number;
      blobs: number;
      bytes: number;
      manifests: number;
    }>`
      select (select count(*) from repositories) as repositories,
             (select count(*) from blobs) as blobs,
             (select coalesce(sum(size), 0) from blobs) as bytes,
             (select count(*) from manifests) as manifests`.execute(this.db);
    const r = result.rows[0]!;
    return {
      repositories: Number(r.repositories),
      blobs: Number(r.blobs),
      bytes: Number(r.bytes),
      manifests: Number(r.manifests),
    };
  }

  /** Adds counted pulls (run in a write transaction). */
  async recordPulls(counts: PullCounts[]): Promise<void> {
    for (const c of counts) {
      if (c.tag === undefined) {
        await this.db
          .updateTable('repositories')
          .set((eb) => ({ pulls: eb('pulls', '+', c.count), last_pulled_at: c.at }))
          .where('name', '=', c.repository)
          .execute();
        continue;
      }
      await this.db
        .updateTable('tags')
        .set({ last_pulled_at: c.at })
        .where('name', '=', c.tag)
        .where('repository_id', '=', (eb) =>
          eb.selectFrom('repositories').select('id').where('name', '=', c.repository),
        )
        .execute();
    }
  }

  /** Stored settings (JSON values) by key. */
  async settings(): Promise<
    Map<string, { value: unknown; updatedBy: string | null; updatedAt: number }>
  > {
    const rows = await this.db.selectFrom('settings').selectAll().execute();
    return new Map(
      rows.map((r) => [
        r.key,
        {
          value: JSON.parse(r.value) as unknown,
          updatedBy: r.updated_by,
          updatedAt: Number(r.updated_at),
        },
      ]),
    );
  }

  /** Stores (or, with undefined, removes) settings. */
  async putSettings(values: Record<string, unknown>, updatedBy: string | null): Promise<void> {
    const now = Date.now();
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined || value === null) {
        await this.db.deleteFrom('settings').where('key', '=', key).execute();
        continue;
      }
      const row = { key, value: JSON.stringify(value), updated_by: updatedBy, updated_at: now };
      await this.db
        .insertInto('settings')
        .values(row)
        .onConflict((oc) => oc.column('key').doUpdateSet(row))
        .execute();
    }
  }
}
