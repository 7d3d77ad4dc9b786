/**
 * Appending a chunk to an upload: its `Content-Range` and length checked, the owner's byte limit
 * enforced, its bytes streamed to the store while hashed, and counted.
 */
import type { Readable } from 'node:stream';
import { BerthError } from '../oci/index.js';
import {
  digesting,
  isReadAlone,
  noteReceivedChunk,
  prepended,
  readHead,
  runningDigest,
} from '../kit/index.js';
import type { Meta, UploadRecord } from '../meta/index.js';
import type { ContentStore } from '../storage/index.js';
import { bounded, type UploadLimits } from './upload-limits.js';
import type { ByteCounter } from './ports.js';
import { uploadDataGone, type UploadHashes } from './upload-hashes.js';

/** The inclusive byte range a chunk claims to cover (`Content-Range: start-end`). */
export interface ChunkRange {
  start: number;
  end: number;
}

/** Appends chunks to the upload sessions of `UploadService`, which holds each one's lock. */
export class UploadChunks {
  constructor(
    private readonly meta: Meta,
    private readonly store: ContentStore,
    private readonly hashes: UploadHashes,
    private readonly bytes: ByteCounter,
    private readonly limits: UploadLimits,
    /** Forgets an upload and its bytes (a full disk discards the upload that filled it). */
    private readonly discard: (id: string) => Promise<void>,
  ) {}

  private checkRange(upload: UploadRecord, range: ChunkRange, length?: number): void {
    if (range.start !== upload.size || range.end < range.start) {
      throw new BerthError(
        'RANGE_INVALID',
        `chunk ${range.start}-${range.end} does not continue the upload at offset ${upload.size}`,
        { size: upload.size },
      );
    }
    if (length !== undefined && length !== range.end - range.start + 1) {
      throw new BerthError(
        'SIZE_INVALID',
        `Content-Length ${length} does not match Content-Range ${range.start}-${range.end}`,
      );
    }
  }

  /**
   * Checks a chunk against `range` (when given) and the owner's byte limit (DENIED when the
   * announced length would pass it, or once the body does), and appends it with `write` (by
   * default onto the upload's bytes in the store); returns the new size.
   */
  async append(
    upload: UploadRecord,
    body: Readable,
    range?: ChunkRange,
    length?: number,
    write: (source: Readable, expected?: number) => Promise<number> = (source, expected) =>
      this.write(upload, source, expected),
  ): Promise<number> {
    if (range) this.checkRange(upload, range, length);
    const expected = range ? range.end - range.start + 1 : length;
    if (upload.owner === null) return write(body, expected);
    const held = upload.ownerBytes ?? 0;
    const allowed = this.limits.bytes - held;
    if (expected !== undefined && expected > allowed)
      throw new BerthError(
        'DENIED',
        `unfinished uploads of ${upload.owner} hold ${held} bytes; ${expected} more would pass the limit of ${this.limits.bytes}`,
      );
    // A body of announced length cannot pass it (the HTTP parser stops there), so only a body of
    // unknown length needs counting.
    const limit = this.limits.bytes;
    const owner = upload.owner;
    const source =
      expected === undefined
        ? bounded(
            body,
            allowed,
            () =>
              new BerthError(
                'DENIED',
                `unfinished uploads of ${owner} may hold at most ${limit} bytes; finish or cancel some`,
              ),
          )
        : body;
    return write(source, expected);
  }

  /**
   * Streams `body` onto the upload while hashing it and returns the new size, which the caller
   * records with `upload.held`. While the whole upload stays within the store's `inlineBytes`,
   * its bytes are kept in `upload.held` (the session's row) and the store gets none: a small
   * blob sent as a `PATCH` and an empty `PUT` then becomes a row of the small-blob table. The
   * chunk that would pass that size takes the held bytes to the store with it. On failure the
   * recorded upload stays as it was.
   */
  private async write(upload: UploadRecord, body: Readable, expected?: number): Promise<number> {
    let source = body;
    const room = this.heldRoom(upload);
    if (room !== undefined && (expected === undefined || expected <= room)) {
      const head = await readHead(body, room);
      if (head.ended) return this.hold(upload, head.chunks, head.size, expected);
      source = head.whole();
    }
    const held = upload.held;
    // The body's own chunks may be freed once stored; the bytes the row held stay its own.
    const freeable = isReadAlone(body) ? (chunk: Buffer) => chunk !== held : undefined;
    // Bytes the row held go to the store first, with this chunk, from the upload's start.
    const hash = held ? runningDigest() : await (await this.hashes.live(upload)).hash.copy();
    let size: number;
    try {
      if (held || upload.size === 0) await this.store.createUpload(upload.id);
      size = await this.store.appendUpload(
        upload.id,
        held ? 0 : upload.size,
        digesting(held ? prepended([held], source) : source, hash, freeable),
        noteReceivedChunk,
        expected === undefined ? undefined : expected + (held?.length ?? 0),
        upload.note,
      );
    } catch (err) {
      const gone = uploadDataGone(err, upload.id);
      if (gone !== err) throw gone;
      if (err instanceof BerthError && err.code === 'STORAGE_FULL') {
        // Free the upload's space at once, so the registry can take smaller pushes again.
        await this.discard(upload.id).catch(() => undefined);
        throw new BerthError(
          'STORAGE_FULL',
          `the registry's storage is full: upload ${upload.id} was discarded to free its space; push again once space is freed`,
          undefined,
          { cause: err },
        );
      }
      throw err;
    }
    upload.size = this.counted(upload, size - upload.size, expected);
    upload.held = undefined;
    this.hashes.set(upload.id, size, hash);
    return size;
  }

  /**
   * How many more bytes the upload's row may hold: while it holds all of them (or there are
   * none yet) and the store keeps small blobs in the database; else undefined.
   */
  private heldRoom(upload: UploadRecord): number | undefined {
    const most = this.store.inlineBytes ?? 0;
    if (most === 0 || (upload.held === undefined && upload.size > 0)) return undefined;
    return most - upload.size;
  }

  /** Appends `chunks` (`size` bytes, all of a chunk) to the bytes the upload's row holds. */
  private async hold(
    upload: UploadRecord,
    chunks: Buffer[],
    size: number,
    expected?: number,
  ): Promise<number> {
    const hash = await (await this.hashes.live(upload)).hash.copy();
    for (const chunk of chunks) {
      await hash.update(chunk);
      noteReceivedChunk(chunk);
    }
    const total = this.counted(upload, size, expected);
    if (size > 0) upload.held = Buffer.concat([...(upload.held ? [upload.held] : []), ...chunks]);
    upload.size = total;
    this.hashes.set(upload.id, total, hash);
    return total;
  }

  /** Counts `received` bytes onto `upload`: its new size, or SIZE_INVALID if not as announced. */
  counted(upload: UploadRecord, received: number, expected?: number): number {
    this.bytes.received(received);
    if (expected !== undefined && received !== expected) {
      throw new BerthError(
        'SIZE_INVALID',
        `received ${received} bytes where ${expected} were announced`,
      );
    }
    return upload.size + received;
  }
}
