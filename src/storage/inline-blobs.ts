/**
 * A content store that keeps small blobs in the database beside a filesystem or an object store.
 * On S3 a blob costs a PutObject of several milliseconds whatever its size, and on a disk a file
 * written, synced and linked into a synced folder (about a dozen file operations and two syncs) —
 * more than the transaction that records it. A blob of at most `inlineBytes` received by one
 * request is instead held in memory and handed to that transaction (`ReceivedBlob.inline`), as is
 * one whose upload's row held its bytes (see `UploadChunks`), so it is durable exactly when its
 * record is. Reads look in the table first; everything else goes to the wrapped store.
 */
import { Readable } from 'node:stream';
import { readHead } from '../kit/index.js';
import type {
  ByteRange,
  ContentStore,
  ReceivedBlob,
  SmallBlobTable,
  UploadNote,
} from './driver.js';

/**
 * `inner` with blobs of at most `inlineBytes` in `table`: received whole with their length
 * announced, or held by their upload's row until it completes (see `UploadChunks`).
 */
export class InlineSmallBlobs implements ContentStore {
  readonly redirectUrl?: (digest: string) => Promise<string | undefined>;
  readonly localBlobFile?: ContentStore['localBlobFile'];
  readonly stageUpload?: ContentStore['stageUpload'];
  readonly releaseUpload?: ContentStore['releaseUpload'];
  readonly committedAs?: ContentStore['committedAs'];
  readonly hasUpload?: ContentStore['hasUpload'];
  readonly sharedUploads?: boolean;

  constructor(
    private readonly inner: ContentStore,
    private readonly table: SmallBlobTable,
    readonly inlineBytes: number,
  ) {
    const redirect = inner.redirectUrl?.bind(inner);
    // A blob in the table has no object to presign; the URL is made first (locally), so a store
    // that never redirects costs no lookup.
    if (redirect)
      this.redirectUrl = async (digest) => {
        const url = await redirect(digest);
        return url === undefined || (await table.read(digest)) ? undefined : url;
      };
    const file = inner.localBlobFile?.bind(inner);
    // A blob small enough for the table may be there rather than in a file: read through readBlob.
    if (file)
      this.localBlobFile = (digest, size) => (size > inlineBytes ? file(digest, size) : undefined);
    this.stageUpload = inner.stageUpload?.bind(inner);
    this.releaseUpload = inner.releaseUpload?.bind(inner);
    this.committedAs = inner.committedAs?.bind(inner);
    this.hasUpload = inner.hasUpload?.bind(inner);
    this.sharedUploads = inner.sharedUploads;
  }

  receivesWhole(length: number | undefined): boolean {
    if (length !== undefined && length <= this.inlineBytes) return true;
    return this.inner.receiveBlob !== undefined && (this.inner.receivesWhole?.(length) ?? true);
  }

  readBlob(digest: string, range?: ByteRange): Readable {
    const { table, inner } = this;
    return Readable.from(
      (async function* () {
        const bytes = await table.read(digest);
        if (bytes) yield range ? bytes.subarray(range.start, range.end + 1) : bytes;
        else yield* inner.readBlob(digest, range);
      })(),
      { objectMode: false },
    );
  }

  async receiveBlob(
    digest: string,
    source: Readable,
    observe: (chunk: Buffer) => void,
    length?: number,
  ): Promise<ReceivedBlob> {
    if (length === undefined || length > this.inlineBytes) {
      // Not offered (see receivesWhole): the caller writes such a blob through an upload.
      if (!this.inner.receiveBlob) throw new Error('the wrapped store cannot receive whole blobs');
      return this.inner.receiveBlob(digest, source, observe, length);
    }
    // Read one chunk past the announced length at most: the caller refuses a longer blob by its
    // size, and nothing more is held (the rest of the body is dropped).
    const head = await readHead(source, length);
    for (const chunk of head.chunks) observe(chunk);
    if (!head.ended) source.destroy();
    const inline = head.ended ? Buffer.concat(head.chunks, head.size) : undefined;
    const nothing = async (): Promise<void> => {};
    return { size: head.size, inline, stage: nothing, confirm: nothing, drop: nothing };
  }

  createUpload(id: string): Promise<void> {
    return this.inner.createUpload(id);
  }

  appendUpload(
    id: string,
    offset: number,
    source: Readable,
    observe: (chunk: Buffer) => void,
    length?: number,
    note?: UploadNote,
  ): Promise<number> {
    return this.inner.appendUpload(id, offset, source, observe, length, note);
  }

  readUpload(id: string, length: number, note?: UploadNote): Readable {
    return this.inner.readUpload(id, length, note);
  }

  commitUpload(id: string, digest: string, note?: UploadNote): Promise<void> {
    return this.inner.commitUpload(id, digest, note);
  }

  deleteUpload(id: string): Promise<void> {
    return this.inner.deleteUpload(id);
  }

  listUploads(): Promise<string[]> {
    return this.inner.listUploads();
  }

  /** The object, if any (a blob in the table was set aside by the transaction removing it). */
  trashBlob(digest: string): Promise<void> {
    return this.inner.trashBlob(digest);
  }

  async restoreBlob(digest: string): Promise<void> {
    await this.table.restore(digest);
    await this.inner.restoreBlob(digest);
  }

  async purgeTrashedBlob(digest: string): Promise<void> {
    await this.table.purge(digest);
    await this.inner.purgeTrashedBlob(digest);
  }

  async listTrash(): Promise<string[]> {
    const [objects, rows] = await Promise.all([this.inner.listTrash(), this.table.trashed()]);
    return [...new Set([...objects, ...rows])];
  }
}
