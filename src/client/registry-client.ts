/**
 * A client of one registry (Berth or any other speaking the OCI Distribution API): manifests,
 * blobs (streamed, verified), mounts, tags and the catalog, with Docker token authentication and
 * retries of transient failures.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { digestOf, isIndexMediaType, MANIFEST_MEDIA_TYPES } from '../oci/index.js';
import { AuthSession } from './auth-session.js';
import type { Credentials } from './docker-config.js';
import { discard, readAll, send, type HttpResponse, type RequestBody } from './http-transport.js';
import { tap } from './streams.js';
import { callFailure, RegistryCallError } from './call-failure.js';

export { RegistryCallError };
import { verifying } from './verify-stream.js';
import { resumingStream } from './resuming-stream.js';

/** How to reach a registry. */
export interface ClientOptions {
  /** Plain HTTP (also the default for loopback addresses). */
  insecure?: boolean;
  credentials?: Credentials;
  /** Attempts for a request that fails transiently (default 4). */
  attempts?: number;
  /** The registry's base URL when not `https://REGISTRY` (`http://…`, a path-less URL). */
  base?: string;
  /** PEM CA certificates for the registry's TLS. */
  ca?: string;
  /** Milliseconds without an answer before a request fails. */
  timeoutMs?: number;
}

/** What a HEAD of a manifest says. */
export interface ManifestHead {
  digest: string | undefined;
  mediaType: string;
  size: number;
}

/** A manifest as fetched: its exact bytes, media type and digest. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

const ACCEPT = [...MANIFEST_MEDIA_TYPES].join(', ');
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN']);

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || name.startsWith('127.');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Talks to one registry. */
export class RegistryClient {
  private readonly auth: AuthSession;
  private readonly base: string;
  private readonly attempts: number;
  private readonly transport: { ca?: string; timeoutMs?: number };

  constructor(
    readonly registry: string,
    options: ClientOptions = {},
  ) {
    this.auth = new AuthSession(options.credentials);
    this.base =
      options.base ??
      `${options.insecure || isLoopback(registry) ? 'http' : 'https'}://${registry}`;
    this.attempts = options.attempts ?? 4;
    this.transport = { ca: options.ca, timeoutMs: options.timeoutMs };
  }

  /** One call with auth (answering one challenge) and retries; `ok` lists the wanted statuses. */
  private async call(
    method: string,
    path: string,
    scope: string,
    ok: number[],
    headers: Record<string, string> = {},
    body?: RequestBody,
    retry = true,
  ): Promise<HttpResponse> {
    const url = new URL(path, this.base);
    let challenged = false;
    if (this.auth.hasCredentials && !this.auth.knowsChallenge && path !== '/v2/')
      await this.learnChallenge();
    for (let attempt = 1; ; attempt += 1) {
      const authorization = await this.auth.authorization(scope);
      let res: HttpResponse;
      try {
        res = await send(
          url,
          method,
          authorization ? { ...headers, authorization } : headers,
          body,
          this.transport,
        );
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (retry && attempt < this.attempts && TRANSIENT_ERRORS.has(code)) {
          await sleep(200 * 2 ** attempt);
          continue;
        }
        throw new Error(`${this.registry}: ${method} ${url.pathname}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (ok.includes(res.status)) return res;
      if (res.status === 401 && !challenged) {
        discard(res);
        challenged = true;
        if (await this.auth.answer(res.headers['www-authenticate'], scope)) continue;
      }
      if (retry && attempt < this.attempts && TRANSIENT_STATUS.has(res.status)) {
        discard(res);
        await sleep(Number(res.headers['retry-after']) * 1000 || 200 * 2 ** attempt);
        continue;
      }
      throw await callFailure(res, method, `${this.registry}${url.pathname}`);
    }
  }

  /** Asks /v2/ how this registry wants to be authenticated (as docker does before a push or pull). */
  private async learnChallenge(): Promise<void> {
    const res = await send(new URL('/v2/', this.base), 'GET', {}, undefined, this.transport).catch(
      () => undefined,
    );
    if (!res) return;
    discard(res);
    if (res.status === 401) await this.auth.answer(res.headers['www-authenticate'], '');
  }

  /** Checks that the registry answers and accepts the credentials (GET /v2/). */
  async ping(): Promise<void> {
    discard(await this.call('GET', '/v2/', '', [200]));
  }

  private static pull(repository: string): string {
    return `repository:${repository}:pull`;
  }

  private static push(repository: string): string {
    return `repository:${repository}:pull,push`;
  }

  /** The manifest `reference` (tag or digest) of `repository`, byte-exact, its digest checked. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const res = await this.call(
      'GET',
      `/v2/${repository}/manifests/${reference}`,
      RegistryClient.pull(repository),
      [200],
      { accept: ACCEPT },
    );
    const bytes = await readAll(res, 4 << 20);
    const digest = digestOf(bytes);
    const claimed = res.headers['docker-content-digest'];
    if (reference.includes(':') && reference !== digest)
      throw new Error(
        `${this.registry}/${repository}@${reference}: the registry sent content with digest ${digest}`,
      );
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest)
      throw new Error(
        `${this.registry}/${repository}:${reference}: Docker-Content-Digest ${claimed} does not match the content (${digest})`,
      );
    const type = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    const mediaType =
      type || ((JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? '');
    return { bytes, mediaType, digest };
  }

  /** The digest, type and size of manifest `reference` of `repository`, or undefined (404). */
  async headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const res = await this.call(
      'HEAD',
      `/v2/${repository}/manifests/${reference}`,
      RegistryClient.pull(repository),
      [200, 404],
      { accept: ACCEPT },
    );
    discard(res);
    if (res.status === 404) return undefined;
    const digest = res.headers['docker-content-digest'];
    return {
      digest: typeof digest === 'string' ? digest : undefined,
      mediaType: String(res.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim(),
      size: Number(res.headers['content-length'] ?? 0),
    };
  }

  /**
   * The raw bytes of blob `digest` from byte `offset` on (unverified: the caller checks the whole),
   * with the blob's full size when the registry says it.
   */
  async blobFrom(
    repository: string,
    digest: string,
    offset: number,
  ): Promise<{ body: Readable; size: number | undefined }> {
    const res = await this.call(
      'GET',
      `/v2/${repository}/blobs/${digest}`,
      RegistryClient.pull(repository),
      offset > 0 ? [206] : [200],
      offset > 0 ? { range: `bytes=${offset}-` } : {},
    );
    const range = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
    const length = Number(res.headers['content-length'] ?? NaN);
    const size = range ? Number(range[1]) : Number.isFinite(length) ? length + offset : undefined;
    return { body: res.body, size };
  }

  /** Whether `repository` has manifest `reference`. */
  async hasManifest(repository: string, reference: string): Promise<boolean> {
    const res = await this.call(
      'HEAD',
      `/v2/${repository}/manifests/${reference}`,
      RegistryClient.pull(repository),
      [200, 404],
      { accept: ACCEPT },
    );
    discard(res);
    return res.status === 200;
  }

  /** Stores a manifest under `reference`; returns its digest. */
  async putManifest(
    repository: string,
    reference: string,
    manifest: FetchedManifest,
  ): Promise<string> {
    const res = await this.call(
      'PUT',
      `/v2/${repository}/manifests/${reference}`,
      RegistryClient.push(repository),
      [201],
      { 'content-type': manifest.mediaType, 'content-length': String(manifest.bytes.length) },
      manifest.bytes,
    );
    discard(res);
    return manifest.digest;
  }

  /** Deletes a manifest (by digest) or a tag. */
  async deleteManifest(repository: string, reference: string): Promise<void> {
    const res = await this.call(
      'DELETE',
      `/v2/${repository}/manifests/${reference}`,
      `repository:${repository}:delete`,
      [202, 200],
    );
    discard(res);
  }

  /** Whether `repository` has blob `digest`. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.call(
      'HEAD',
      `/v2/${repository}/blobs/${digest}`,
      RegistryClient.pull(repository),
      [200, 404],
    );
    discard(res);
    return res.status === 200;
  }

  /**
   * A stream of blob `digest`, failing if its bytes do not match the digest (and `size`). A
   * transfer that breaks part way is asked for again from the byte reached (a Range request), a
   * few times, before the stream fails.
   */
  async getBlob(repository: string, digest: string, size?: number): Promise<Readable> {
    const what = `${this.registry}/${repository}@${digest}`;
    const first = await this.blobFrom(repository, digest, 0);
    const reopen = async (offset: number) => (await this.blobFrom(repository, digest, offset)).body;
    return resumingStream(first.body, size ?? first.size, reopen, { what }).pipe(
      verifying(digest, size, what),
    );
  }

  /** Mounts blob `digest` from `from` into `repository`; false when the registry would not. */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean> {
    const scope = `${RegistryClient.push(repository)} ${RegistryClient.pull(from)}`;
    const res = await this.call(
      'POST',
      `/v2/${repository}/blobs/uploads/?mount=${digest}&from=${from}`,
      scope,
      [201, 202],
    );
    discard(res);
    if (res.status === 201) return true;
    const location = res.headers.location;
    if (location)
      discard(
        await this.call('DELETE', location, scope, [204, 404]).catch(() => undefined as never),
      );
    return false;
  }

  /** Uploads a blob from a fresh stream (`open`, called again on retries) of `size` bytes. */
  async pushBlob(
    repository: string,
    digest: string,
    size: number,
    open: () => Readable,
  ): Promise<void> {
    const scope = RegistryClient.push(repository);
    for (let attempt = 1; ; attempt += 1) {
      const start = await this.call('POST', `/v2/${repository}/blobs/uploads/`, scope, [202]);
      discard(start);
      const location = new URL(String(start.headers.location), this.base);
      location.searchParams.set('digest', digest);
      try {
        const done = await this.call(
          'PUT',
          location.pathname + location.search,
          scope,
          [201],
          { 'content-type': 'application/octet-stream', 'content-length': String(size) },
          open,
        );
        discard(done);
        return;
      } catch (err) {
        const transient = !(err instanceof RegistryCallError) || TRANSIENT_STATUS.has(err.status);
        if (attempt >= this.attempts || !transient) throw err;
        await sleep(200 * 2 ** attempt);
      }
    }
  }

  /**
   * Uploads a blob whose digest is not known in advance: its bytes stream in one PATCH while
   * being hashed, then the upload is closed with the digest. Returns the digest and size.
   */
  async pushBlobStream(
    repository: string,
    open: () => Readable,
  ): Promise<{ digest: string; size: number }> {
    const scope = RegistryClient.push(repository);
    const start = await this.call('POST', `/v2/${repository}/blobs/uploads/`, scope, [202]);
    discard(start);
    let hash = createHash('sha256');
    let size = 0;
    const body = () => {
      // A resent body (after a challenge) starts the count again.
      hash = createHash('sha256');
      size = 0;
      return open().pipe(
        tap((chunk) => {
          hash.update(chunk);
          size += chunk.length;
        }),
      );
    };
    const location = new URL(String(start.headers.location), this.base);
    const patched = await this.call(
      'PATCH',
      location.pathname + location.search,
      scope,
      [202],
      { 'content-type': 'application/octet-stream' },
      body,
      false,
    );
    discard(patched);
    const digest = `sha256:${hash.digest('hex')}`;
    const next = new URL(String(patched.headers.location ?? location), this.base);
    next.searchParams.set('digest', digest);
    discard(await this.call('PUT', next.pathname + next.search, scope, [201]));
    return { digest, size };
  }

  private async paged(
    path: string,
    scope: string,
    key: 'tags' | 'repositories',
  ): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = path;
    while (next) {
      const res = await this.call('GET', next, scope, [200]);
      const body = JSON.parse((await readAll(res)).toString('utf8')) as Record<
        string,
        string[] | null
      >;
      out.push(...(body[key] ?? []));
      const link = /<([^>]+)>;\s*rel="next"/.exec(String(res.headers.link ?? ''));
      next = link ? link[1] : undefined;
    }
    return out;
  }

  /** Every tag of `repository`. */
  tags(repository: string): Promise<string[]> {
    return this.paged(
      `/v2/${repository}/tags/list?n=1000`,
      RegistryClient.pull(repository),
      'tags',
    );
  }

  /**
   * The artifacts that name manifest `digest` of `repository` as their subject (the referrers
   * API); an empty list where the registry does not offer it.
   */
  async referrers(
    repository: string,
    digest: string,
  ): Promise<{ digest: string; artifactType?: string }[]> {
    const res = await this.call(
      'GET',
      `/v2/${repository}/referrers/${digest}`,
      RegistryClient.pull(repository),
      [200, 404],
    );
    if (res.status === 404) {
      discard(res);
      return [];
    }
    const index = JSON.parse((await readAll(res)).toString('utf8')) as {
      manifests?: { digest: string; artifactType?: string }[];
    };
    return index.manifests ?? [];
  }

  /** Every repository the registry lists to this caller. */
  catalog(): Promise<string[]> {
    return this.paged('/v2/_catalog?n=1000', 'registry:catalog:*', 'repositories');
  }
}

/** Whether a fetched manifest is an index (OCI image index or Docker manifest list). */
export function isIndex(manifest: FetchedManifest): boolean {
  return isIndexMediaType(manifest.mediaType);
}
