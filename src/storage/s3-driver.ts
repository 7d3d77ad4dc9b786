/**
 * The S3-compatible driver (AWS S3, Ceph RADOS Gateway, MinIO …). Blobs are objects under
 * `<prefix>blobs/`; an upload is a series of segment objects under `<prefix>uploads/<id>/`, named
 * by the offset they start at (and, on a shared database, the serial of the claim that wrote
 * them, so a write whose claim lapsed never replaces a later one's) — each complete or absent (S3
 * writes are atomic), so any replica can continue an upload from the size the database records
 * (s3-upload-segments). Appends of a known length of 5 MiB and more go as the parts of one
 * multipart upload on the segment's key instead (s3-parted-segment), completed into that segment
 * when the upload is read, finished or continued otherwise; another replica that needs them waits
 * for the parts the first one acknowledged and completes them itself. Where the upload's session
 * records that multipart upload (replicas on a shared database: `UploadNote`), every replica adds
 * its chunks to it as parts numbered by its claim (s3-segment-record), so an upload whose chunks
 * went to several replicas is still one segment, completed once and copied server-side once.
 * Committing copies the segments to the blob's key (s3-upload-segments), never past the upload's
 * recorded end. A blob one request uploads whole skips the segments and the copy (`receiveBlob`,
 * s3-received-blob). Reads are ranged GETs; blob GETs may be redirected to presigned URLs.
 */
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { tmpdir } from 'node:os';
import type { ByteRange, ContentStore, ReceivedBlob, UploadNote } from './driver.js';
import { Budget, finishChunk, rememberBounded } from '../kit/index.js';
import { multipartBlob, spooledBlob } from './s3-received-blob.js';
import { S3Objects } from './s3-objects.js';
import { MIN_PART, uploadLost, type PartedShared } from './s3-parted-segment.js';
import { OpenSegments } from './s3-open-segments.js';
import { decodePlainSegment, encodePlainSegment } from './s3-segment-record.js';
import {
  copySegments,
  segmentName,
  UploadSegments,
  within,
  type Segment,
} from './s3-upload-segments.js';

/** Where and how to reach the bucket. */
export interface S3Settings {
  bucket: string;
  /** Key prefix (`berth/`), may be empty. */
  prefix: string;
  region: string;
  /** A custom endpoint (Ceph, MinIO); AWS when undefined. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Static credentials; otherwise the standard AWS chain (environment, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Seconds a presigned blob URL is valid when redirecting blob GETs (0: serve through Berth). */
  redirectSeconds: number;
  /** Told of each request sent to the bucket, by operation (`PutObject`, `ListObjectsV2`, …). */
  onRequest?: (operation: string) => void;
  /**
   * A local folder for small blobs received whole by one request, held there (in files unlinked
   * at once) until their digest is checked; the system's temporary folder when undefined.
   */
  spoolDirectory?: string;
  /**
   * How long a replica continuing an upload waits for the parts another replica acknowledged to
   * be stored (30 s when undefined) before the upload is given up as unknown.
   */
  foreignPartsWaitMs?: number;
  /**
   * How many uploads' open segments a process keeps track of (10,000 when undefined): see
   * `OpenSegments`.
   */
  openSegmentsKept?: number;
}

const PART = 16 * 1024 * 1024;
/** The largest object one PUT may write. */
const MAX_PUT = 5 * 1024 * 1024 * 1024;
/** Whole blobs up to this size wait in a local file for their one PUT; larger ones go as parts. */
const SPOOL_LIMIT = 16 * 1024 * 1024;
/**
 * Parts of a received blob's multipart upload in flight at once (16 MiB each: with the part being
 * filled, at most 80 MiB of one upload in memory). Measured on Ceph for 128 MiB: 16 MiB × 4
 * 81–111 MiB/s, × 2 68–93, 8 MiB × 4 68–88, one PUT and a copy 89–102.
 */
const PART_UPLOADS = 4;
/**
 * Appends of up to this size are acknowledged once in memory and stored in the background, with
 * at most BEHIND_MEMORY bytes of them per process and PART_UPLOADS parts in flight (measured on
 * Ceph, 128 MiB in 8 MiB appends: each part stored before the next append 63 MiB/s with the copy
 * of every chunk at commit, 101 without; in the background 136–151; six or eight in flight, or
 * 128 MiB of memory, no faster).
 */
const BEHIND_LIMIT = 16 * 1024 * 1024;
const BEHIND_MEMORY = 64 * 1024 * 1024;
/** How long a replica waits for the parts another one acknowledged to be stored, by default. */
const FOREIGN_WAIT_MS = 30_000;

/** Blob and upload storage in an S3 bucket. */
export class S3ContentStore implements ContentStore {
  /** Replicas share the bucket: any of them may continue an upload (see UploadSegments). */
  readonly sharedUploads = true;
  private readonly client: S3Client;
  private readonly objects: S3Objects;

  constructor(private readonly settings: S3Settings) {
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials:
        settings.accessKeyId && settings.secretAccessKey
          ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
          : undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const told = settings.onRequest;
    if (told)
      this.client.middlewareStack.add(
        (next, context) => (args) => {
          told(String(context.commandName ?? 'unknown').replace(/Command$/, ''));
          return next(args);
        },
        { step: 'initialize', name: 'berthRequestCounter' },
      );
    this.objects = new S3Objects(this.client, settings.bucket);
    const foreignWaitMs = settings.foreignPartsWaitMs ?? FOREIGN_WAIT_MS;
    this.segments = new UploadSegments(this.objects, (id) => this.uploadPrefix(id), foreignWaitMs);
    this.partedShared = {
      objects: this.objects,
      memory: new Budget(BEHIND_MEMORY),
      sending: new Budget(PART_UPLOADS),
      behindLimit: BEHIND_LIMIT,
      foreignWaitMs,
    };
    this.open = new OpenSegments(
      this.partedShared,
      (id, offset, serial) => this.segmentKey(id, offset, serial),
      settings.openSegmentsKept,
    );
  }

  private readonly segments: UploadSegments;
  private readonly partedShared: PartedShared;
  private readonly open: OpenSegments;
  /**
   * The segments of uploads this process staged, so committing and releasing them needs no
   * listing.
   */
  private readonly stagedSegments = new Map<string, Segment[]>();

  private key(...parts: string[]): string {
    return `${this.settings.prefix}${parts.join('/')}`;
  }

  private blobKey(digest: string): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return this.key('blobs', algorithm, hex.slice(0, 2), hex);
  }

  private trashKey(digest: string): string {
    return this.key('trash', digest.replace(':', '-'));
  }

  private uploadPrefix(id: string): string {
    return this.key('uploads', id, '');
  }

  /** The key of upload `id`'s segment starting at `offset`, written under claim `serial`. */
  private segmentKey(id: string, offset: number, serial?: number): string {
    return this.uploadPrefix(id) + segmentName(offset, serial);
  }

  readBlob(digest: string, range?: ByteRange): Readable {
    return this.objects.stream(this.blobKey(digest), range);
  }

  /** A presigned GET URL for the blob, when redirects are configured. */
  async redirectUrl(digest: string): Promise<string | undefined> {
    if (this.settings.redirectSeconds <= 0) return undefined;
    return getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.blobKey(digest) }),
      { expiresIn: this.settings.redirectSeconds },
    );
  }

  /** Nothing to write: an upload's segments appear with its first append (ids are fresh UUIDs). */
  async createUpload(): Promise<void> {}

  async appendUpload(
    id: string,
    offset: number,
    source: Readable,
    observe: (chunk: Buffer) => void,
    length?: number,
    note?: UploadNote,
  ): Promise<number> {
    if (length !== undefined && length >= MIN_PART && length <= MAX_PUT)
      return this.open.append(id, offset, source, observe, length, note);
    await this.open.close(id, offset, note);
    return this.appendSegment(id, offset, source, observe, length, note);
  }

  /**
   * Writes `source` as the segment object of upload `id` at `offset`, named by the claim of
   * `note`, whose record then names that segment; returns the new size.
   */
  private async appendSegment(
    id: string,
    offset: number,
    source: Readable,
    observe: (chunk: Buffer) => void,
    length?: number,
    note?: UploadNote,
  ): Promise<number> {
    const key = this.segmentKey(id, offset, note?.serial);
    let written = 0;
    if (length !== undefined && length > 0 && length <= MAX_PUT) {
      // An announced length: one streamed PUT (a multipart upload costs the gateway far more).
      const sent: Buffer[] = [];
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          observe(chunk);
          written += chunk.length;
          sent.push(chunk);
          done(null, chunk);
        },
      });
      source.once('error', (err) => tap.destroy(err));
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: key,
          Body: source.pipe(tap),
          ContentLength: length,
        }),
      );
      // Stored (the gateway answered): the chunks may be freed now (chunk-release.ts).
      sent.forEach(finishChunk);
    } else {
      // No length (docker streams each layer so): parts sent as they fill, several in flight;
      // a body that ends within one part is a single PUT, an empty one nothing.
      const received = await multipartBlob(
        { objects: this.objects, key },
        source,
        observe,
        PART,
        PART_UPLOADS,
        this.partedShared.memory,
      );
      written = received.size;
      try {
        if (written > 0) await received.stage();
      } finally {
        await received.drop();
      }
    }
    if (note)
      note.record =
        written > 0
          ? encodePlainSegment({ base: offset, serial: note.serial, size: written })
          : undefined;
    else this.open.noteSole(id, offset === 0 && written > 0 ? { key, size: written } : undefined);
    return offset + written;
  }

  /**
   * A whole blob from one request, with no copy: up to 16 MiB of announced length through a local
   * file and one PUT, anything else as a multipart upload on the blob's key (see s3-received-blob).
   */
  async receiveBlob(
    digest: string,
    source: Readable,
    observe: (chunk: Buffer) => void,
    length?: number,
  ): Promise<ReceivedBlob> {
    const target = { objects: this.objects, key: this.blobKey(digest) };
    if (length !== undefined && length <= SPOOL_LIMIT)
      return spooledBlob(target, this.settings.spoolDirectory ?? tmpdir(), source, observe);
    return multipartBlob(target, source, observe, PART, PART_UPLOADS, this.partedShared.memory);
  }

  readUpload(id: string, length: number, note?: UploadNote): Readable {
    const out = new PassThrough();
    void (async () => {
      await this.open.close(id, undefined, note);
      const segments = await this.segments.covering(id, length, note !== undefined);
      let at = 0;
      for (const [i, s] of segments.entries()) {
        // A segment holds the upload's bytes from its offset up to the next segment's.
        const end = Math.min(s.offset + s.size, segments[i + 1]?.offset ?? Infinity, length);
        if (s.offset > at || at >= length) break;
        if (end <= at) continue;
        await pipeline(
          this.objects.stream(s.key, { start: at - s.offset, end: end - s.offset - 1 }),
          out,
          { end: false },
        );
        at = end;
      }
      out.end();
    })().catch((err: unknown) => out.destroy(err as Error));
    return out;
  }

  /**
   * The segments holding an upload's first `size` bytes (all it holds when undefined), found
   * without a listing when they are one object: the one the session records (`note`: a process
   * whose claim lapsed may have written another, so what this process wrote is not enough), else
   * the one this process wrote, or one HEAD.
   */
  private async chainFor(id: string, size?: number, note?: UploadNote): Promise<Segment[]> {
    await this.open.close(id, undefined, note);
    const plain = note && decodePlainSegment(note.record);
    const sole = note ? undefined : this.open.soleSegment(id);
    if (sole && size !== undefined && sole.size === size) return [{ ...sole, offset: 0 }];
    if (plain && plain.base === 0 && plain.size === size)
      return [{ key: this.segmentKey(id, 0, plain.serial), offset: 0, size }];
    if (size !== undefined && size > 0 && !note) {
      const key = this.segmentKey(id, 0);
      // Anything else (another size, no such object, an error) falls back to listing.
      if ((await this.objects.size(key).catch(() => undefined)) === size)
        return [{ key, offset: 0, size }];
    }
    if (size === undefined) return (await this.segments.list(id)).filter((s) => s.size > 0);
    return within(await this.segments.covering(id, size, note !== undefined), size);
  }

  /** Copies the upload's segments to the blob key (server-side), before the database commit. */
  async stageUpload(id: string, digest: string, size: number, note?: UploadNote): Promise<void> {
    const chain = await this.chainFor(id, size, note);
    const held = chain.reduce((sum, s) => sum + s.size, 0);
    // Never a blob from fewer bytes than were verified (an upload whose data went missing).
    if (held < size)
      throw uploadLost(`upload ${id} holds ${held} of its ${size} bytes; start the upload again`);
    await this.writeBlob(id, digest, chain);
    rememberBounded(this.stagedSegments, id, chain);
  }

  /** Confirms the staged blob (one HEAD), writing it now if it is missing. */
  async commitUpload(id: string, digest: string, note?: UploadNote): Promise<void> {
    if (await this.objects.exists(this.blobKey(digest))) return;
    const chain = this.stagedSegments.get(id) ?? (await this.chainFor(id, undefined, note));
    await this.writeBlob(id, digest, chain);
  }

  /** Deletes the committed upload's segments (those it staged, without listing, when known). */
  async releaseUpload(id: string): Promise<void> {
    const staged = this.stagedSegments.get(id);
    this.stagedSegments.delete(id);
    this.open.noteSole(id, undefined);
    if (staged?.length) await this.objects.delete(staged.map((s) => s.key));
    else await this.deleteUpload(id);
  }

  /** Writes the blob `digest` from the upload's segments `chain`. */
  private writeBlob(id: string, digest: string, chain: Segment[]): Promise<void> {
    return copySegments(this.objects, this.blobKey(digest), chain, (total) =>
      this.readUpload(id, total),
    );
  }

  async deleteUpload(id: string): Promise<void> {
    this.stagedSegments.delete(id);
    await this.open.forget(id);
    const prefix = this.uploadPrefix(id);
    for (const u of await this.objects.openMultiparts(prefix))
      await this.objects.abortMultipart(u.key, u.uploadId);
    await this.objects.delete((await this.objects.list(prefix)).map((o) => o.key));
  }

  async listUploads(): Promise<string[]> {
    const prefix = this.key('uploads', '');
    const ids = new Set<string>();
    for (const o of await this.objects.list(prefix))
      ids.add(o.key.slice(prefix.length).split('/')[0]!);
    for (const u of await this.objects.openMultiparts(prefix))
      ids.add(u.key.slice(prefix.length).split('/')[0]!);
    return [...ids];
  }

  async trashBlob(digest: string): Promise<void> {
    await this.objects.move(this.blobKey(digest), this.trashKey(digest));
  }

  async restoreBlob(digest: string): Promise<void> {
    await this.objects.move(this.trashKey(digest), this.blobKey(digest));
  }

  async purgeTrashedBlob(digest: string): Promise<void> {
    await this.objects.delete([this.trashKey(digest)]);
  }

  async listTrash(): Promise<string[]> {
    const prefix = this.key('trash', '');
    return (await this.objects.list(prefix)).map((o) =>
      o.key.slice(prefix.length).replace('-', ':'),
    );
  }
}
