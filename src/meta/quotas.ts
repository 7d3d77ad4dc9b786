/**
 * Quotas and the usage they are measured against. Storage is counted by distinct digest: a blob
 * two repositories of a namespace share counts once in that namespace (its logical size), once
 * in every other namespace holding it, and once in the registry's total. The exclusive size of a
 * scope is what only it holds (what deleting it would free).
 */
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { Database } from './schema.js';

/** What a quota applies to: everything, a namespace (`acme`) or a repository (`acme/app`). */
export type QuotaKind = 'global' | 'namespace' | 'repository';

/** A quota's limits; null where there is none. Bytes for storage. */
export interface QuotaLimits {
  storageSoft: number | null;
  storageHard: number | null;
  repositoriesMax: number | null;
  tagsMax: number | null;
}

/** A stored quota. */
export interface QuotaRecord extends QuotaLimits {
  kind: QuotaKind;
  /** Empty for the global quota. */
  scope: string;
  updatedBy: string | null;
  updatedAt: number;
}

/** What a scope uses. */
export interface QuotaUsage {
  /** Bytes of the distinct blobs and manifests its repositories hold. */
  logical: number;
  /** Of those, the bytes no repository outside the scope holds. */
  exclusive: number;
  repositories: number;
  tags: number;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Reads and writes quotas, and measures usage. */
export class QuotaStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every quota, global first, then by scope. */
  async list(): Promise<QuotaRecord[]> {
    const rows = await this.db
      .selectFrom('quotas')
      .selectAll()
      .orderBy('kind')
      .orderBy('scope')
      .execute();
    return rows.map((r) => ({
      kind: r.kind as QuotaKind,
      scope: r.scope,
      storageSoft: num(r.storage_soft),
      storageHard: num(r.storage_hard),
      repositoriesMax: num(r.repositories_max),
      tagsMax: num(r.tags_max),
      updatedBy: r.updated_by,
      updatedAt: Number(r.updated_at),
    }));
  }

  /** Creates or replaces the quota on `kind`/`scope`. */
  async put(quota: QuotaRecord): Promise<void> {
    const values = {
      storage_soft: quota.storageSoft,
      storage_hard: quota.storageHard,
      repositories_max: quota.repositoriesMax,
      tags_max: quota.tagsMax,
      updated_by: quota.updatedBy,
      updated_at: quota.updatedAt,
    };
    await this.db
      .insertInto('quotas')
      .values({ kind: quota.kind, scope: quota.scope, ...values })
      .onConflict((oc) => oc.columns(['kind', 'scope']).doUpdateSet(values))
      .execute();
  }

  /** Removes the quota on `kind`/`scope`; false when there was none. */
  async remove(kind: QuotaKind, scope: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('quotas')
      .where('kind', '=', kind)
      .where('scope', '=', scope)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** What `kind`/`scope` uses now. */
  async usage(kind: QuotaKind, scope: string): Promise<QuotaUsage> {
    const inScope = scopeFilter(kind, scope);
    const held = sql<string>`select rb.digest from repository_blobs rb join repositories r on r.id = rb.repository_id where ${inScope}`;
    const heldOutside = sql<string>`select rb.digest from repository_blobs rb join repositories r on r.id = rb.repository_id where not (${inScope})`;
    const manifests = sql`select m.digest, max(m.size) as size from manifests m join repositories r on r.id = m.repository_id where ${inScope} group by m.digest`;
    const manifestsOutside = sql<string>`select m.digest from manifests m join repositories r on r.id = m.repository_id where not (${inScope})`;
    const row = await sql<{
      blob_bytes: unknown;
      blob_exclusive: unknown;
      manifest_bytes: unknown;
      manifest_exclusive: unknown;
      repositories: unknown;
      tags: unknown;
    }>`select
        (select coalesce(sum(b.size), 0) from blobs b where b.digest in (${held})) as blob_bytes,
        (select coalesce(sum(b.size), 0) from blobs b where b.digest in (${held})
           and b.digest not in (${heldOutside})) as blob_exclusive,
        (select coalesce(sum(x.size), 0) from (${manifests}) x) as manifest_bytes,
        (select coalesce(sum(x.size), 0) from (${manifests}) x
           where x.digest not in (${manifestsOutside})) as manifest_exclusive,
        (select count(*) from repositories r where ${inScope}) as repositories,
        (select count(*) from tags t join repositories r on r.id = t.repository_id where ${inScope}) as tags`
      .execute(this.db)
      .then((r) => r.rows[0]);
    return {
      logical: Number(row?.blob_bytes ?? 0) + Number(row?.manifest_bytes ?? 0),
      exclusive: Number(row?.blob_exclusive ?? 0) + Number(row?.manifest_exclusive ?? 0),
      repositories: Number(row?.repositories ?? 0),
      tags: Number(row?.tags ?? 0),
    };
  }

  /** The logical bytes of `kind`/`scope` alone (what a storage check needs). */
  async logical(kind: QuotaKind, scope: string): Promise<number> {
    const inScope = scopeFilter(kind, scope);
    const row = await sql<{ bytes: unknown }>`select
        (select coalesce(sum(b.size), 0) from blobs b where b.digest in (select rb.digest
           from repository_blobs rb join repositories r on r.id = rb.repository_id where ${inScope}))
      + (select coalesce(sum(x.size), 0) from (select m.digest, max(m.size) as size from manifests m
           join repositories r on r.id = m.repository_id where ${inScope} group by m.digest) x) as bytes`
      .execute(this.db)
      .then((r) => r.rows[0]);
    return Number(row?.bytes ?? 0);
  }

  /** How many repositories and tags `kind`/`scope` holds. */
  async counts(kind: QuotaKind, scope: string): Promise<{ repositories: number; tags: number }> {
    const inScope = scopeFilter(kind, scope);
    const row = await sql<{ repositories: unknown; tags: unknown }>`select
        (select count(*) from repositories r where ${inScope}) as repositories,
        (select count(*) from tags t join repositories r on r.id = t.repository_id where ${inScope}) as tags`
      .execute(this.db)
      .then((r) => r.rows[0]);
    return { repositories: Number(row?.repositories ?? 0), tags: Number(row?.tags ?? 0) };
  }

  /** Whether a repository in `kind`/`scope` already holds blob or manifest `digest`. */
  async holds(kind: QuotaKind, scope: string, digest: string): Promise<boolean> {
    const inScope = scopeFilter(kind, scope);
    const row = await sql<{ found: unknown }>`select
        exists (select 1 from repository_blobs rb join repositories r on r.id = rb.repository_id
                where rb.digest = ${digest} and ${inScope})
        or exists (select 1 from manifests m join repositories r on r.id = m.repository_id
                where m.digest = ${digest} and ${inScope}) as found`
      .execute(this.db)
      .then((r) => r.rows[0]);
    return Boolean(Number(row?.found ?? 0));
  }
}

/** Repositories `r` within `kind`/`scope` (namespace: names between `ns/` and `ns0`). */
function scopeFilter(kind: QuotaKind, scope: string): Expression<SqlBool> {
  if (kind === 'global') return sql<SqlBool>`1 = 1`;
  if (kind === 'repository') return sql<SqlBool>`r.name = ${scope}`;
  return sql<SqlBool>`(r.name > ${`${scope}/`} and r.name < ${`${scope}0`})`;
}
