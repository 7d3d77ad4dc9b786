/**
 * The pull-through cache: a namespace of Berth (`hub/`) mirrors an upstream registry. A manifest
 * asked for by tag is served from here while fresh, checked upstream with a HEAD after the
 * namespace's freshness time (fetched when it changed), and served stale — saying so — when the
 * upstream is down, slow or refuses the login. A missing blob is fetched once however many clients
 * ask at once: the first client is streamed the bytes as they are stored, the rest wait for the
 * stored copy; the blob becomes visible only once its digest is verified, and a broken transfer
 * resumes. Namespaces marked `mirror` also answer the Docker engine's `registry-mirrors`
 * requests, which name images without the namespace.
 */
import { PassThrough, type Readable } from 'node:stream';
import { RegistryCallError } from '../client/index.js';
import type { SecretBox } from '../kit/index.js';
import type { CacheNamespaceRecord, Meta, UpstreamRecord } from '../meta/index.js';
import type { Logger } from '../obs/index.js';
import { BerthError, parseManifestReference } from '../oci/index.js';
import type { CacheOutcome, PullThrough, Registry } from '../registry/index.js';
import { resumableBlob } from './resumable-blob.js';
import { UpstreamClients } from './upstreams.js';

/** Counters the cache reports to. */
export interface CacheMetrics {
  outcome(outcome: CacheOutcome): void;
  upstreamFetch(kind: 'manifest' | 'blob'): void;
}

/** A repository the cache covers: its namespace, upstream and name upstream. */
interface Covered {
  namespace: CacheNamespaceRecord;
  upstream: UpstreamClients;
  remote: string;
}

/** Namespaces and upstreams are re-read at most this often (milliseconds). */
const RECHECK_MS = 2_000;

/** The pull-through cache. */
export class PullThroughCache implements PullThrough {
  private namespaces: CacheNamespaceRecord[] = [];
  private upstreams = new Map<string, UpstreamClients>();
  private loadedAt = 0;
  private readonly manifestFlights = new Map<string, Promise<CacheOutcome>>();
  private readonly blobFlights = new Map<string, Promise<number>>();

  constructor(
    private readonly meta: Meta,
    private readonly registry: Registry,
    private readonly box: SecretBox,
    private readonly metrics: CacheMetrics,
    private readonly logger: Logger,
  ) {}

  /** Forgets what was read of namespaces and upstreams (after a change). */
  invalidate(): void {
    this.loadedAt = 0;
  }

  readsLocally(name: string): boolean {
    if (Date.now() - this.loadedAt >= RECHECK_MS) return false;
    return !this.namespaces.some((n) => n.mirror) && this.namespaceOf(name) === undefined;
  }

  /** The cache namespace `name` lies in, by what was last loaded. */
  private namespaceOf(name: string): CacheNamespaceRecord | undefined {
    return this.namespaces.find((n) => name.startsWith(`${n.namespace}/`));
  }

  private async load(): Promise<void> {
    if (Date.now() - this.loadedAt < RECHECK_MS) return;
    const [namespaces, upstreams] = await Promise.all([
      this.meta.cache.namespaces(),
      this.meta.cache.upstreams(),
    ]);
    this.namespaces = namespaces;
    // Clients are kept while their upstream is unchanged: they hold its token sessions.
    this.upstreams = new Map(
      upstreams.map((u: UpstreamRecord) => {
        const kept = this.upstreams.get(u.name);
        const same = kept && JSON.stringify(kept.upstream) === JSON.stringify(u);
        return [u.name, same ? kept : new UpstreamClients(u, this.box)];
      }),
    );
    this.loadedAt = Date.now();
  }

  /** The cache namespace covering `name` with the upstream's name for it, or undefined. */
  private async cover(name: string): Promise<Covered | undefined> {
    await this.load();
    const namespace = this.namespaceOf(name);
    const upstream = namespace && this.upstreams.get(namespace.upstream);
    if (!namespace || !upstream) return undefined;
    return {
      namespace,
      upstream,
      remote: `${namespace.upstreamPrefix}${name.slice(namespace.namespace.length + 1)}`,
    };
  }

  /** Whether `name` is a cached repository (clients may not push to it). */
  async covers(name: string): Promise<boolean> {
    return (await this.cover(name)) !== undefined;
  }

  /**
   * The local name for a pull of `name`: itself, unless a mirror namespace answers for names
   * that are not Berth's own (`library/busybox` → `hub/library/busybox`).
   */
  async localName(name: string): Promise<string> {
    await this.load();
    const mirror = this.namespaces.find((n) => n.mirror);
    if (!mirror || (await this.cover(name))) return name;
    if ((await this.meta.repositories.find(name)) !== undefined) return name;
    return `${mirror.namespace}/${name}`;
  }

  async refresh(name: string, reference: string): Promise<CacheOutcome | undefined> {
    const covered = await this.cover(name);
    if (!covered) return undefined;
    const key = `${name}\0${reference}`;
    let flight = this.manifestFlights.get(key);
    if (!flight) {
      flight = this.bringIn(covered, name, reference).finally(() =>
        this.manifestFlights.delete(key),
      );
      this.manifestFlights.set(key, flight);
    }
    const outcome = await flight;
    this.metrics.outcome(outcome);
    return outcome;
  }

  private async bringIn(covered: Covered, name: string, reference: string): Promise<CacheOutcome> {
    const ref = parseManifestReference(reference);
    const repositoryId = await this.meta.repositories.find(name);
    const what = `${covered.upstream.upstream.name}:${covered.remote}${ref.kind === 'tag' ? `:${ref.tag}` : `@${reference}`}`;
    if (ref.kind === 'digest') {
      if (
        repositoryId !== undefined &&
        (await this.meta.manifests.get(repositoryId, ref.digest.value))
      )
        return 'hit';
      await this.fetchManifest(covered, name, reference, what);
      return 'fetched';
    }
    const local =
      repositoryId === undefined ? undefined : await this.meta.tags.resolve(repositoryId, ref.tag);
    if (local) {
      const checkedAt = (await this.meta.cache.checkedAt(name, ref.tag)) ?? 0;
      if (
        covered.namespace.localFirst ||
        Date.now() - checkedAt < covered.namespace.freshness * 1000
      )
        return 'hit';
    }
    try {
      const head = await covered.upstream.use((c) => c.headManifest(covered.remote, ref.tag));
      if (!head) {
        if (local) return 'stale';
        throw new BerthError('MANIFEST_UNKNOWN', `${what} is neither cached nor in the upstream`);
      }
      if (local && head.digest === local) {
        await this.meta.cache.checked(name, ref.tag, Date.now());
        return 'revalidated';
      }
      await this.fetchManifest(covered, name, reference, what);
      await this.meta.cache.checked(name, ref.tag, Date.now());
      return 'fetched';
    } catch (err) {
      if (err instanceof BerthError) throw err;
      if (local) {
        this.logger.warn(
          { err, repository: name, tag: ref.tag },
          'upstream unavailable: serving the cached copy',
        );
        return 'stale';
      }
      throw this.unavailable(what, err);
    }
  }

  private unavailable(what: string, err: unknown): BerthError {
    if (err instanceof RegistryCallError && err.status === 404)
      return new BerthError('MANIFEST_UNKNOWN', `${what} is not in the upstream`);
    // Not found here, and the upstream cannot say: 404 with the reason (docker shows the message).
    return new BerthError(
      'MANIFEST_UNKNOWN',
      `${what} is not cached, and the upstream could not be asked: ${(err as Error).message}`,
    );
  }

  private async fetchManifest(
    covered: Covered,
    name: string,
    reference: string,
    what: string,
  ): Promise<void> {
    let fetched;
    try {
      fetched = await covered.upstream.use((c) => c.getManifest(covered.remote, reference));
    } catch (err) {
      throw this.unavailable(what, err);
    }
    this.metrics.upstreamFetch('manifest');
    await this.registry.manifests.put(name, reference, fetched.bytes, fetched.mediaType, null, {
      cached: true,
    });
  }

  async fetchBlob(
    name: string,
    digest: string,
  ): Promise<{ size: number; read(): Readable } | undefined> {
    const covered = await this.cover(name);
    if (!covered) return undefined;
    const waiting = this.blobFlights.get(digest);
    const what = `${covered.upstream.upstream.name}:${covered.remote}@${digest}`;
    if (waiting) {
      // Another client is fetching it: wait for the stored copy.
      let size: number;
      try {
        size = await waiting;
      } catch (err) {
        if (err instanceof BerthError) throw err;
        throw new BerthError(
          'UNAVAILABLE',
          `${what} could not be fetched: ${(err as Error).message}`,
        );
      }
      return { size, read: () => this.registry.parts.store.readBlob(digest) };
    }
    let source: Awaited<ReturnType<typeof resumableBlob>>;
    const start = resumableBlob(
      (work) => covered.upstream.use(work),
      covered.remote,
      digest,
      covered.upstream.upstream.bandwidth,
    );
    // Joiners wait for the whole flight (the size alone is not enough).
    let settle!: (size: number) => void;
    let fail!: (err: unknown) => void;
    const flight = new Promise<number>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    flight.catch(() => undefined);
    this.blobFlights.set(digest, flight);
    try {
      source = await start;
    } catch (err) {
      this.blobFlights.delete(digest);
      fail(err);
      if (err instanceof RegistryCallError && err.status === 404)
        throw new BerthError('BLOB_UNKNOWN', `${what} is not in the upstream`);
      throw new BerthError(
        'UNAVAILABLE',
        `${what} is not cached, and the upstream could not be asked: ${(err as Error).message}`,
      );
    }
    this.metrics.upstreamFetch('blob');
    const toStore = new PassThrough();
    const toClient = new PassThrough();
    let clientOpen = true;
    toClient.on('close', () => (clientOpen = false));
    toClient.on('error', () => (clientOpen = false));
    // One reader feeds both: the store at its pace, the client while it stays connected.
    source.body.on('data', (chunk: Buffer) => {
      const storeFull = !toStore.write(chunk);
      const clientFull = clientOpen && !toClient.write(chunk);
      if (storeFull || clientFull) {
        source.body.pause();
        let waits = (storeFull ? 1 : 0) + (clientFull ? 1 : 0);
        const resume = () => {
          waits -= 1;
          if (waits <= 0) source.body.resume();
        };
        if (storeFull) toStore.once('drain', resume);
        if (clientFull) {
          const gone = () => resume();
          toClient.once('drain', resume);
          toClient.once('close', gone);
        }
      }
    });
    source.body.on('end', () => {
      toStore.end();
    });
    source.body.on('error', (err) => {
      toStore.destroy(err);
      toClient.destroy(err);
    });
    this.registry.uploads.monolithic(name, digest, toStore, source.size).then(
      () => {
        this.blobFlights.delete(digest);
        settle(source.size);
        if (clientOpen) toClient.end();
      },
      (err: unknown) => {
        this.blobFlights.delete(digest);
        fail(err);
        this.logger.warn({ err, digest, repository: name }, 'a cached blob failed to store');
        toClient.destroy(err as Error);
      },
    );
    return { size: source.size, read: () => toClient };
  }
}
