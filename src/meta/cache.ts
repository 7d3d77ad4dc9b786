/** Upstream registries, the namespaces that cache them, and when cached tags were checked. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** An upstream registry. */
export interface UpstreamRecord {
  name: string;
  /** Base URLs, tried in order (`https://registry-1.example`, `http://127.0.0.1:5001`). */
  urls: string[];
  username: string | null;
  sealedPassword: string | null;
  ca: string | null;
  /** Bytes a second the cache may fetch from it (null: no limit). */
  bandwidth: number | null;
  createdAt: number;
}

/** A namespace of Berth that mirrors an upstream. */
export interface CacheNamespaceRecord {
  namespace: string;
  upstream: string;
  /** Put before the rest of a name upstream (`library/` for Docker Hub's official images). */
  upstreamPrefix: string;
  /** Seconds a cached tag is served before it is checked upstream again. */
  freshness: number;
  /** Never ask upstream about a tag already cached. */
  localFirst: boolean;
  /** Also answers the Docker engine's `registry-mirrors` requests (names without the namespace). */
  mirror: boolean;
  createdAt: number;
}

/** Reads and writes upstreams and cache namespaces. */
export class CacheStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every upstream. */
  async upstreams(): Promise<UpstreamRecord[]> {
    const rows = await this.db.selectFrom('upstreams').selectAll().orderBy('name').execute();
    return rows.map((r) => ({
      name: r.name,
      urls: JSON.parse(r.urls) as string[],
      username: r.username,
      sealedPassword: r.sealed_password,
      ca: r.ca,
      bandwidth: r.bandwidth === null ? null : Number(r.bandwidth),
      createdAt: Number(r.created_at),
    }));
  }

  /** Saves an upstream (made or replaced). */
  async putUpstream(u: UpstreamRecord): Promise<void> {
    const row = {
      name: u.name,
      urls: JSON.stringify(u.urls),
      username: u.username,
      sealed_password: u.sealedPassword,
      ca: u.ca,
      bandwidth: u.bandwidth,
      created_at: u.createdAt,
    };
    await this.db
      .insertInto('upstreams')
      .values(row)
      .onConflict((oc) => oc.column('name').doUpdateSet(row))
      .execute();
  }

  /** Removes an upstream; false when there was none. */
  async removeUpstream(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('upstreams').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Every cache namespace. */
  async namespaces(): Promise<CacheNamespaceRecord[]> {
    const rows = await this.db
      .selectFrom('cache_namespaces')
      .selectAll()
      .orderBy('namespace')
      .execute();
    return rows.map((r) => ({
      namespace: r.namespace,
      upstream: r.upstream,
      upstreamPrefix: r.upstream_prefix,
      freshness: Number(r.freshness),
      localFirst: Number(r.local_first) === 1,
      mirror: Number(r.mirror) === 1,
      createdAt: Number(r.created_at),
    }));
  }

  /** Saves a cache namespace. */
  async putNamespace(n: CacheNamespaceRecord): Promise<void> {
    const row = {
      namespace: n.namespace,
      upstream: n.upstream,
      upstream_prefix: n.upstreamPrefix,
      freshness: n.freshness,
      local_first: n.localFirst ? 1 : 0,
      mirror: n.mirror ? 1 : 0,
      created_at: n.createdAt,
    };
    await this.db
      .insertInto('cache_namespaces')
      .values(row)
      .onConflict((oc) => oc.column('namespace').doUpdateSet(row))
      .execute();
  }

  /** Removes a cache namespace (its cached content stays, as ordinary repositories). */
  async removeNamespace(namespace: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('cache_namespaces')
      .where('namespace', '=', namespace)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** When `repository:tag` was last checked upstream (undefined: never). */
  async checkedAt(repository: string, tag: string): Promise<number | undefined> {
    const r = await this.db
      .selectFrom('cache_tags')
      .select('checked_at')
      .where('repository', '=', repository)
      .where('tag', '=', tag)
      .executeTakeFirst();
    return r ? Number(r.checked_at) : undefined;
  }

  /** Records that `repository:tag` was checked upstream at `at`. */
  async checked(repository: string, tag: string, at: number): Promise<void> {
    const row = { repository, tag, checked_at: at };
    await this.db
      .insertInto('cache_tags')
      .values(row)
      .onConflict((oc) => oc.columns(['repository', 'tag']).doUpdateSet({ checked_at: at }))
      .execute();
  }
}
