/**
 * The segments of S3 uploads one process writes as multipart uploads (s3-parted-segment), by
 * upload: which one each upload's part-sized chunks go to — the process's own, or, where the
 * upload's session records it (`UploadNote`, s3-segment-record), the one every replica adds its
 * parts to — and completing them into segment objects before an upload is read or committed
 * (s3-upload-segments reads those). Also, where the session records nothing, the uploads whose
 * one segment this process wrote, so committing them needs no HEAD (where it does record, its
 * record names that segment instead: a process whose claim lapsed may have written another).
 */
import type { Readable } from 'node:stream';
import { rememberBounded } from '../kit/index.js';
import type { UploadNote } from './driver.js';
import { PartedSegment, type PartedShared } from './s3-parted-segment.js';
import {
  decodeSegmentRecord,
  encodePlainSegment,
  encodeSegmentRecord,
  MAX_PART_NUMBER,
  partNumberFor,
  recordedBytes,
  type SegmentRecord,
} from './s3-segment-record.js';

/** A segment object of an upload, and the upload's bytes it holds from its offset. */
export interface SoleSegment {
  key: string;
  size: number;
}

/** The multipart segments one process is writing, by upload id. */
export class OpenSegments {
  /**
   * Uploads whose latest segment this process is writing as parts, least recent first; past
   * `most` the least recently used is forgotten, not abandoned: an upload another replica went
   * on with and finished is never settled here, and one forgotten while still going is finished
   * from the bucket, as another replica's segment (see UploadSegments).
   */
  private readonly parted = new Map<string, PartedSegment>();
  /** Uploads whose one segment (from offset 0) this process wrote, with its size. */
  private readonly sole = new Map<string, SoleSegment>();

  /**
   * `keyOf(id, offset, serial)` names upload `id`'s segment starting at `offset`, written under
   * the claim `serial` where the session records it (see `segmentName`).
   */
  constructor(
    private readonly shared: PartedShared,
    private readonly keyOf: (id: string, offset: number, serial?: number) => string,
    private readonly most = 10_000,
  ) {}

  /**
   * Appends a chunk of `length` bytes (a part's worth: 5 MiB to 5 GiB) to upload `id` at
   * `offset` as a part; returns the new end. With a `note`, the part goes to the multipart
   * upload it records (whichever replica started it) under the number the write's claim gives
   * it, or starts one, and the note's record is replaced with the segment's as this write leaves
   * it; without, to this process's own segment when it ends at `offset`.
   */
  async append(
    id: string,
    offset: number,
    source: Readable,
    observe: (chunk: Buffer) => void,
    length: number,
    note?: UploadNote,
  ): Promise<number> {
    if (!note) {
      let open = this.parted.get(id);
      if (open && open.end !== offset) {
        await this.settle(id, offset);
        open = undefined;
      }
      open ??= new PartedSegment(this.shared, this.keyOf(id, offset), offset);
      this.sole.delete(id);
      rememberBounded(this.parted, id, open, this.most);
      return open.append(source, observe, length);
    }
    let record = decodeSegmentRecord(note.record);
    const goesOn =
      record !== undefined &&
      record.base + recordedBytes(record) === offset &&
      partNumberFor(record.serialBase, note.serial) <= MAX_PART_NUMBER;
    if (!goesOn) {
      await this.closeRecorded(id, note);
      record = undefined;
    }
    let open = record && this.followed(id, record);
    if (!open) {
      this.abandon(id);
      open = new PartedSegment(
        this.shared,
        this.keyOf(id, offset, note.serial),
        offset,
        note.serial,
      );
    }
    this.sole.delete(id);
    rememberBounded(this.parted, id, open, this.most);
    const end = await open.append(
      source,
      observe,
      length,
      partNumberFor(open.serialBase, note.serial),
    );
    const written = open.record();
    note.record = written && encodeSegmentRecord(written);
    return end;
  }

  /**
   * Completes what upload `id` has open before a write at `offset` that is not a part, or before
   * the upload is read or committed (`offset` undefined): with a `note`, the multipart upload it
   * records (whose record becomes the plain segment's it completed into; a segment of this
   * process the record does not name is a write's whose progress was not recorded, and is
   * abandoned); without, this process's own segment, up to `offset`.
   */
  async close(id: string, offset?: number, note?: UploadNote): Promise<void> {
    if (note) await this.closeRecorded(id, note);
    else await this.settle(id, offset);
  }

  /** The one segment from offset 0 this process wrote for upload `id`, if it did. */
  soleSegment(id: string): SoleSegment | undefined {
    return this.sole.get(id);
  }

  /** Records that upload `id` is the one segment `segment` from offset 0, or forgets that. */
  noteSole(id: string, segment: SoleSegment | undefined): void {
    if (segment) rememberBounded(this.sole, id, segment, this.most);
    else this.sole.delete(id);
  }

  /** Forgets upload `id`; its open segment, if any, is abandoned (awaited). */
  async forget(id: string): Promise<void> {
    this.sole.delete(id);
    const open = this.parted.get(id);
    this.parted.delete(id);
    await open?.abort();
  }

  /** This process's segment of the recorded multipart upload, brought up to its record. */
  private followed(id: string, record: SegmentRecord): PartedSegment {
    const open = this.parted.get(id);
    if (open?.isRecordedBy(record)) {
      open.follow(record);
      return open;
    }
    this.abandon(id);
    const key = this.keyOf(id, record.base, record.named ? record.serialBase : undefined);
    return PartedSegment.adopt(this.shared, key, record);
  }

  /**
   * Completes the multipart upload `note` records, if any, and records the object it completed
   * into in its place (a multipart record of a segment named before claims named segments: none).
   */
  private async closeRecorded(id: string, note: UploadNote): Promise<void> {
    const record = decodeSegmentRecord(note.record);
    if (!record) {
      this.abandon(id);
      return;
    }
    const open = this.followed(id, record);
    this.parted.delete(id);
    const size = await open.complete();
    // Now one object, named by the claim that started it: recorded as a plain segment.
    note.record =
      record.named && size > 0
        ? encodePlainSegment({ base: record.base, serial: record.serialBase, size })
        : undefined;
  }

  /** Completes the parts this process holds for upload `id` (up to `upTo`) into their segment. */
  private async settle(id: string, upTo?: number): Promise<void> {
    const open = this.parted.get(id);
    if (!open) return;
    this.parted.delete(id);
    const size = await open.complete(upTo);
    this.noteSole(id, open.base === 0 && size > 0 ? { key: open.key, size } : undefined);
  }

  /** Drops this process's open segment of upload `id`, aborting it in the background. */
  private abandon(id: string): void {
    const open = this.parted.get(id);
    this.parted.delete(id);
    void open?.abort().catch(() => undefined);
  }
}
