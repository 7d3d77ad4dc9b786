/**
 * An upload segment written as the parts of one S3 multipart upload, a part per append, so a
 * chunked upload costs no copy of its chunks at commit: completing the parts is one request, and
 * the blob is then one server-side copy of one object (which the gateway makes without moving the
 * bytes). An append of up to `behindLimit` bytes is acknowledged once its bytes are in memory,
 * within a process-wide budget, and sent in the background with a few others at a time — a client
 * sends its chunks one after another, and one stream of PUTs is slower than several; a larger
 * append streams into its part before it is acknowledged. Until `complete` no one can read the
 * parts, so another replica continuing the upload waits for them (`settleForeign`). Where the
 * upload's session records the multipart upload (s3-segment-record), every replica adds its
 * chunks' parts to the same one (`adopt`, `follow`) and the one that completes it asks the
 * gateway for the tags of the parts others sent, waiting for those still being stored.
 */
import { Readable, Transform } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Budget } from '../kit/index.js';
import { BerthError } from '../oci/index.js';
import { isMissingUpload, type S3Objects } from './s3-objects.js';
import { PooledPart } from './pooled-part.js';
import type { SegmentRecord } from './s3-segment-record.js';

/** What every parted segment of one store shares. */
export interface PartedShared {
  objects: S3Objects;
  /** Bytes of acknowledged appends not yet stored, across the process. */
  memory: Budget;
  /** Part uploads in flight, across the process. */
  sending: Budget;
  /** Appends up to this size are acknowledged before they are stored. */
  behindLimit: number;
  /** How long completing waits for parts another process acknowledged to be stored (ms). */
  foreignWaitMs: number;
}

/** The smallest part S3 takes, but for the last. */
export const MIN_PART = 5 * 1024 * 1024;

/** The error for an upload whose acknowledged bytes can no longer be stored or found. */
export function uploadLost(message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, { cause }), { code: 'ENOENT' });
}

interface Part {
  number: number;
  size: number;
  /** The gateway's tag for the part, once this process has stored it (or asked for it). */
  etag?: string;
  /** Why this process could not store it. */
  failure?: unknown;
}

/** One upload's segment from offset `base`, as parts of a multipart upload on `key`. */
export class PartedSegment {
  private uploadId: Promise<string> | undefined;
  /** The multipart upload's id, once started. */
  private startedId: string | undefined;
  private parts: Part[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** The upload's size once every acknowledged append is stored. */
  end: number;

  /**
   * A segment this process starts; `serialBase` is the serial of the claim starting it, where the
   * upload's session records it (see s3-segment-record).
   */
  constructor(
    private readonly shared: PartedShared,
    readonly key: string,
    readonly base: number,
    readonly serialBase = 0,
    /** Whether `key` carries `serialBase` (kept in the record). */
    private readonly named = true,
  ) {
    this.end = base;
  }

  /** The recorded segment another process started (or this one forgot), to go on with. */
  static adopt(shared: PartedShared, key: string, record: SegmentRecord): PartedSegment {
    const segment = new PartedSegment(shared, key, record.base, record.serialBase, record.named);
    segment.uploadId = Promise.resolve(record.uploadId);
    segment.startedId = record.uploadId;
    segment.follow(record);
    return segment;
  }

  /** Whether `record` is of this segment's multipart upload. */
  isRecordedBy(record: SegmentRecord): boolean {
    return this.startedId === record.uploadId;
  }

  /**
   * Takes `record`'s parts as the segment's (leaving out any of a write whose progress was not
   * recorded), keeping what this process knows of those it sent.
   */
  follow(record: SegmentRecord): void {
    const mine = new Map(this.parts.map((p) => [p.number, p]));
    this.parts = record.parts.map((p) => {
      const sent = mine.get(p.number);
      return sent?.size === p.size ? sent : { number: p.number, size: p.size };
    });
    this.end = this.base + this.parts.reduce((n, p) => n + p.size, 0);
  }

  /** The segment's record, once its multipart upload is started. */
  record(): SegmentRecord | undefined {
    if (this.startedId === undefined) return undefined;
    return {
      uploadId: this.startedId,
      base: this.base,
      serialBase: this.serialBase,
      named: this.named,
      parts: this.parts.map((p) => ({ number: p.number, size: p.size })),
    };
  }

  /**
   * Appends `length` bytes (at least 5 MiB, known in advance) from `source` as part `number` (the
   * next after the last by default), passing each chunk to `observe`; returns the new end. A body
   * of another length is read and not stored (the end returned tells the caller so).
   */
  async append(
    source: Readable,
    observe: (chunk: Buffer) => void,
    length: number,
    number = (this.parts[this.parts.length - 1]?.number ?? 0) + 1,
  ): Promise<number> {
    this.throwIfFailed();
    return length <= this.shared.behindLimit
      ? this.appendBehind(source, observe, length, number)
      : this.appendThrough(source, observe, length, number);
  }

  private async appendBehind(
    source: Readable,
    observe: (chunk: Buffer) => void,
    length: number,
    number: number,
  ): Promise<number> {
    const { memory, sending, objects } = this.shared;
    // The body stays in the client's socket until there is room for it.
    await memory.take(length);
    const held = new PooledPart();
    let handedOver = false;
    try {
      const opened = this.multipart();
      opened.catch(() => undefined);
      for await (const chunk of source) {
        const bytes = chunk as Buffer;
        observe(bytes);
        // A body longer than announced is not held: reading stops, and the caller refuses it.
        if (held.length + bytes.length > length) return this.end + held.length + bytes.length;
        held.add(bytes);
      }
      if (held.length !== length) return this.end + held.length;
      const uploadId = await opened;
      const part: Part = { number, size: length };
      this.parts.push(part);
      this.end += length;
      handedOver = true;
      const sent = sending
        .with(1, () =>
          objects.client.send(
            new UploadPartCommand({
              Bucket: objects.bucket,
              Key: this.key,
              UploadId: uploadId,
              PartNumber: part.number,
              Body: held.body(),
              ContentLength: length,
            }),
          ),
        )
        .then((r) => {
          part.etag = r.ETag;
        })
        .catch((err: unknown) => {
          part.failure = err;
        })
        .finally(() => {
          // The gateway answered (or the request failed): nothing reads the part any more.
          held.release();
          memory.give(length);
          this.inFlight.delete(sent);
        });
      this.inFlight.add(sent);
      return this.end;
    } finally {
      if (!handedOver) {
        held.release();
        memory.give(length);
      }
    }
  }

  private async appendThrough(
    source: Readable,
    observe: (chunk: Buffer) => void,
    length: number,
    number: number,
  ): Promise<number> {
    const { objects } = this.shared;
    const uploadId = await this.multipart();
    let received = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        observe(chunk);
        received += chunk.length;
        if (received > length)
          done(
            new BerthError(
              'SIZE_INVALID',
              `the chunk is longer than the ${length} bytes announced`,
            ),
          );
        else done(null, chunk);
      },
    });
    source.once('error', (err) => tap.destroy(err));
    const sent = await objects.client.send(
      new UploadPartCommand({
        Bucket: objects.bucket,
        Key: this.key,
        UploadId: uploadId,
        PartNumber: number,
        Body: source.pipe(tap),
        ContentLength: length,
      }),
    );
    // A part of the wrong length is left out (a later append may take its number again).
    if (received !== length) return this.end + received;
    this.parts.push({ number, size: length, etag: sent.ETag });
    this.end += length;
    return this.end;
  }

  /**
   * Waits for every part, then completes those that end at or before `upTo` (all by default) into
   * an ordinary object at `key`; returns its size, or 0 when there were no parts (nothing is
   * written). Throws `uploadLost` if an acknowledged part could not be stored.
   */
  async complete(upTo = Infinity): Promise<number> {
    await this.drain();
    this.throwIfFailed();
    const keep: Part[] = [];
    let size = 0;
    for (const p of this.parts) {
      if (this.base + size + p.size > upTo) break;
      keep.push(p);
      size += p.size;
    }
    if (keep.length === 0) {
      await this.abort();
      return 0;
    }
    const { objects } = this.shared;
    const uploadId = await this.multipart();
    try {
      if (keep.some((p) => p.etag === undefined)) await this.tagsOfOthers(uploadId, keep);
      await objects.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: objects.bucket,
          Key: this.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: keep.map((p) => ({ PartNumber: p.number, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      // Another replica that went on with the upload completed these parts already.
      if ((await objects.size(this.key)) === size) return size;
      // Gone (aborted, expired): the gateway may say so in several ways, a listing tells.
      const open = await objects.openMultiparts(this.key);
      if (isMissingUpload(err) || !open.some((u) => u.uploadId === uploadId))
        throw uploadLost(`the parts of ${this.key} are gone; start the upload again`, err);
      // A part missing, or one no recorded write made (a write whose claim lapsed, on a gateway
      // that completes only every part it holds: Ceph's) — never completed into other bytes.
      if ((err as { name?: string }).name === 'InvalidPart')
        throw uploadLost(
          `the parts of ${this.key} cannot be completed as recorded (${String(err)}); start the upload again`,
          err,
        );
      throw err;
    }
    return size;
  }

  /**
   * Fills in the tags of `parts` another process sent, from the gateway's list of the parts,
   * waiting (up to the shared wait) for those still being stored.
   */
  private async tagsOfOthers(uploadId: string, parts: Part[]): Promise<void> {
    const deadline = Date.now() + this.shared.foreignWaitMs;
    for (;;) {
      const listed = new Map(
        (await this.shared.objects.parts(this.key, uploadId)).map((p) => [p.number, p]),
      );
      for (const p of parts) {
        const found = listed.get(p.number);
        if (p.etag === undefined && found?.size === p.size) p.etag = found.etag;
      }
      const missing = parts.filter((p) => p.etag === undefined).length;
      if (missing === 0) return;
      if (Date.now() > deadline)
        throw uploadLost(
          `${missing} acknowledged chunks of the upload at ${this.key} were never stored (the replica storing them stopped); start the upload again`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits for the parts in flight and abandons the multipart upload. */
  async abort(): Promise<void> {
    await this.drain();
    const uploadId = await this.uploadId?.catch(() => undefined);
    if (uploadId) await this.shared.objects.abortMultipart(this.key, uploadId);
  }

  private multipart(): Promise<string> {
    if (this.uploadId) return this.uploadId;
    const { objects } = this.shared;
    const created = objects.client
      .send(new CreateMultipartUploadCommand({ Bucket: objects.bucket, Key: this.key }))
      .then((r) => (this.startedId = r.UploadId!));
    // A failed start is tried again by the next append.
    created.catch(() => {
      if (this.uploadId === created) this.uploadId = undefined;
    });
    this.uploadId = created;
    return created;
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private throwIfFailed(): void {
    const failure = this.parts.find((p) => p.failure !== undefined)?.failure;
    if (failure !== undefined)
      throw uploadLost(
        `a chunk of the upload at ${this.key} could not be stored (${String(failure)}); start the upload again`,
        failure,
      );
  }
}
