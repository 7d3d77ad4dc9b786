/** Reading, mounting and deleting blobs of a repository. */
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { BerthError, parseDigest } from '../oci/index.js';
import type { Meta } from '../meta/index.js';
import type { ByteRange, ContentStore } from '../storage/index.js';
import { recordChange } from './change-events.js';
import type { CanRead, ChangeContext, EventSink, PullThrough } from './ports.js';
import type { ReadCache } from './read-cache.js';
import type { QuotaGuard } from './quota-guard.js';
import { SMALL_BLOB_BYTES, SmallBlobBytes } from './small-blob-bytes.js';

/** Every byte of `stream`, in one buffer (for small blobs only). */
async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A blob ready to be served: its size, the range chosen, and two ways to its bytes. */
export interface OpenBlob {
  digest: string;
  size: number;
  range?: ByteRange;
  /** Opens a stream of the chosen bytes. */
  read(): Readable;
  /** The blob's local file, when the store keeps one. */
  file?: string;
  /** The whole blob's bytes, for a small local blob asked for whole. */
  bytes?: Buffer;
  /** A URL to send the client to instead (presigned object-store GET), if the store offers one. */
  redirect(): Promise<string | undefined>;
}

/** Serves the blobs a repository holds. */
export class BlobService {
  constructor(
    private readonly meta: Meta,
    private readonly store: ContentStore,
    private readonly events: EventSink,
    private readonly cache: ReadCache,
    private readonly quotas: QuotaGuard,
    private readonly pullThrough: () => PullThrough | undefined = () => undefined,
  ) {}

  private readonly small = new SmallBlobBytes();

  /**
   * The size of blob `digest` in repository `name`, or BLOB_UNKNOWN; a mirrored repository's
   * missing blob is fetched from its upstream first.
   */
  async stat(name: string, digestValue: string): Promise<{ digest: string; size: number }> {
    try {
      return await this.statHere(name, digestValue);
    } catch (err) {
      const fetched = await this.fetchMissing(err, name, digestValue);
      if (!fetched) throw err;
      await finished(fetched.read().resume());
      return this.statHere(name, digestValue);
    }
  }

  /** The upstream's copy of a blob missing here, when `name` is mirrored (else undefined). */
  private async fetchMissing(err: unknown, name: string, digestValue: string) {
    if (!(err instanceof BerthError) || err.code !== 'BLOB_UNKNOWN') return undefined;
    return this.pullThrough()?.fetchBlob(name, parseDigest(digestValue).value);
  }

  private async statHere(
    name: string,
    digestValue: string,
  ): Promise<{ digest: string; size: number }> {
    const digest = parseDigest(digestValue).value;
    const repositoryId = await this.cache.repositoryId(this.meta, name);
    const size =
      repositoryId === undefined
        ? undefined
        : await this.cache.blobSize(this.meta, repositoryId, digest);
    if (size === undefined)
      throw new BerthError('BLOB_UNKNOWN', `blob ${digest} is not in ${name}`, { digest });
    return { digest, size };
  }

  /** Opens blob `digest` of `name`, or a range of it (`range` may be a function of the size). */
  async open(
    name: string,
    digestValue: string,
    range?: (size: number) => ByteRange | undefined,
  ): Promise<OpenBlob> {
    if (!range) {
      // A whole blob missing from a mirrored repository streams to this client as it is stored.
      try {
        await this.statHere(name, digestValue);
      } catch (err) {
        const fetched = await this.fetchMissing(err, name, digestValue);
        if (!fetched) throw err;
        return {
          digest: parseDigest(digestValue).value,
          size: fetched.size,
          read: () => fetched.read(),
          redirect: () => Promise.resolve(undefined),
        };
      }
    }
    const { digest, size } = await this.stat(name, digestValue);
    const chosen = range?.(size);
    const local = this.store.localBlobFile !== undefined;
    return {
      digest,
      size,
      range: chosen,
      read: () => this.store.readBlob(digest, chosen),
      file: this.store.localBlobFile?.(digest, size),
      bytes:
        local && !chosen && size > 0 && size <= SMALL_BLOB_BYTES
          ? await this.smallBytes(digest, size)
          : undefined,
      redirect: () => this.store.redirectUrl?.(digest) ?? Promise.resolve(undefined),
    };
  }

  /** The bytes of small local blob `digest` of `size`, kept once read; undefined when they cannot be read. */
  private async smallBytes(digest: string, size: number): Promise<Buffer | undefined> {
    const kept = this.small.get(digest);
    if (kept) return kept;
    let bytes: Buffer;
    try {
      bytes = await collect(this.store.readBlob(digest));
    } catch {
      return undefined; // served from its file, which answers for what is wrong with it
    }
    if (bytes.length !== size) return undefined;
    this.small.set(digest, bytes);
    return bytes;
  }

  /**
   * The bytes of small blob `digest` of `name` (signature payloads, configs), or undefined when it
   * is not there or larger than `maxBytes`.
   */
  async readSmall(
    name: string,
    digestValue: string,
    maxBytes: number,
  ): Promise<Buffer | undefined> {
    let blob: OpenBlob;
    try {
      blob = await this.open(name, digestValue);
    } catch (err) {
      if (err instanceof BerthError) return undefined;
      throw err;
    }
    if (blob.size > maxBytes) return undefined;
    return blob.bytes ?? collect(blob.read());
  }

  /** Removes blob `digest` from repository `name` (its bytes stay until garbage collection). */
  async delete(name: string, digestValue: string, context?: ChangeContext): Promise<void> {
    const digest = parseDigest(digestValue).value;
    const repositoryId = await this.cache.repositoryId(this.meta, name);
    const removed =
      repositoryId !== undefined &&
      (await this.meta.writeTransaction(async (m) => {
        const gone = await m.blobs.unlink(repositoryId, digest);
        if (gone) await recordChange(m, 'blob.deleted', { repository: name, digest }, context);
        return gone;
      }));
    if (repositoryId !== undefined) this.cache.blobUnlinked(repositoryId, digest);
    if (!removed)
      throw new BerthError('BLOB_UNKNOWN', `blob ${digest} is not in ${name}`, { digest });
    this.events.committed();
  }

  /**
   * Mounts blob `digest` into `name` from repository `from`, or, when `from` is omitted, from any
   * repository the caller may read. Returns false when there is nothing to mount.
   */
  async mount(
    name: string,
    digestValue: string,
    from: string | undefined,
    canRead: CanRead,
    context?: ChangeContext,
  ): Promise<boolean> {
    const digest = parseDigest(digestValue).value;
    const sources = from !== undefined ? [from] : await this.meta.repositories.holdingBlob(digest);
    const quotas = await this.quotas.covering(name);
    for (const source of sources) {
      if (!(await canRead(source))) continue;
      const mounted = await this.meta.writeTransaction(async (m) => {
        const sourceId = await m.repositories.find(source);
        const size =
          sourceId === undefined ? undefined : await m.blobs.linkedSize(sourceId, digest);
        if (size === undefined) return false;
        const targetId = await this.quotas.ensureRepository(m, quotas, name);
        await this.quotas.admitBytes(m, quotas, name, digest, size, context);
        await m.blobs.link(targetId, digest);
        await recordChange(m, 'blob.mounted', { repository: name, digest, from: source }, context);
        return true;
      });
      if (mounted) {
        this.events.committed();
        return true;
      }
    }
    return false;
  }
}
