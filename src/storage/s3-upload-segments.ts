/**
 * An upload's segment objects under `<prefix>uploads/<id>/`, named by the offset they start at
 * and, where the upload's session records its writes' claims, the serial of the claim each was
 * written under: listing them (each sized to what it holds of the upload, the latest claim's at
 * each offset), taking over the parts another replica wrote as a multipart upload (waiting for
 * those it acknowledged, then completing them into their segment), and copying a chain of
 * segments to a blob's key.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isMissingUpload, type S3Objects } from './s3-objects.js';
import { MIN_PART, uploadLost } from './s3-parted-segment.js';

/** One segment object and the bytes of the upload it holds: `size` of them from `offset`. */
export interface Segment {
  key: string;
  offset: number;
  size: number;
  /** The object's own size, when it may hold more than `size` bytes (undefined: `size`). */
  objectSize?: number;
}

/** Part copies in flight at once when a multi-segment upload is committed. */
const PART_COPIES = 4;
/**
 * A single segment up to this size is written to the blob key by reading it back and PUTting it:
 * the gateway's server-side copy costs several times a small PUT (Ceph RGW: 52 ms to copy 4 KiB,
 * 10 ms to PUT it, 4 ms to GET it), while for large objects it is the faster way.
 */
const REWRITE_LIMIT = 4 * 1024 * 1024;
/** Parts of a streamed copy, when segments are too small to be copied as parts. */
const STREAM_PART = 16 * 1024 * 1024;

/**
 * The name of the segment starting at `offset`, written under the claim `serial` where the
 * session records claims (sorting by name sorts by offset, then serial). A write whose claim
 * lapsed may still store its object after the write that took over its offset: under its own
 * name, with a smaller serial, so it never replaces that write's object, and `list` passes it by.
 */
export function segmentName(offset: number, serial?: number): string {
  const name = offset.toString().padStart(16, '0');
  return serial === undefined ? name : `${name}.${serial.toString().padStart(16, '0')}`;
}

/** The offset and serial (0: none) a segment's name holds, or undefined for another name. */
export function parseSegmentName(name: string): { offset: number; serial: number } | undefined {
  const match = /^(\d{16})(?:\.(\d{16}))?$/.exec(name);
  return match ? { offset: Number(match[1]), serial: Number(match[2] ?? 0) } : undefined;
}

/**
 * The first `length` bytes of the upload that `segments` (in offset order) hold: never a byte a
 * write stored past the upload's recorded end.
 */
export function within(segments: Segment[], length: number): Segment[] {
  return segments
    .filter((s) => s.offset < length)
    .map((s) => ({ ...s, size: Math.min(s.size, length - s.offset) }));
}

/** How far segments in offset order reach from offset 0 without a gap. */
function coverage(segments: Segment[]): number {
  let reach = 0;
  for (const s of segments) {
    if (s.offset > reach) break;
    reach = s.offset + s.size;
  }
  return reach;
}

/** The segments of uploads in one bucket, as every replica sees them. */
export class UploadSegments {
  constructor(
    private readonly objects: S3Objects,
    private readonly prefixOf: (id: string) => string,
    private readonly foreignWaitMs: number,
  ) {}

  /**
   * The upload's segment objects in offset order, each sized to what it holds of the upload: up to
   * the next one's offset (an append retried at an earlier offset supersedes what lies past it).
   * Of several at one offset, the one written under the latest claim.
   */
  async list(id: string): Promise<Segment[]> {
    const prefix = this.prefixOf(id);
    const named = (await this.objects.list(prefix)).flatMap((o) => {
      const name = parseSegmentName(o.key.slice(prefix.length));
      return name ? [{ ...o, ...name }] : [];
    });
    named.sort((x, y) => x.offset - y.offset || x.serial - y.serial);
    const found = named.filter((s, i) => named[i + 1]?.offset !== s.offset);
    return found.map((s, i) => ({
      key: s.key,
      offset: s.offset,
      size: Math.max(0, Math.min(s.size, (found[i + 1]?.offset ?? Infinity) - s.offset)),
      objectSize: s.size,
    }));
  }

  /**
   * The upload's segments once they hold its first `length` bytes: parts another replica
   * acknowledged are waited for (up to the wait this was made with) and completed into their
   * segment — unless the session `recorded` the upload's multipart upload, which its reader has
   * completed already: any other is a write's whose progress was never recorded. Fewer bytes
   * come back only when nothing more is being stored.
   */
  async covering(id: string, length: number, recorded = false): Promise<Segment[]> {
    const deadline = Date.now() + this.foreignWaitMs;
    for (;;) {
      const segments = (await this.list(id)).filter((s) => s.size > 0);
      const covered = coverage(segments);
      if (covered >= length) return segments;
      // The gap ends where the next stored segment starts (the replica that appended last may
      // have completed its own), or at the end.
      const gapEnd = Math.min(
        length,
        ...segments.filter((s) => s.offset > covered).map((s) => s.offset),
      );
      if (recorded) return segments;
      const found = await this.completeForeign(id, covered, gapEnd);
      if (found === 'none') return segments;
      if (found === 'waiting') {
        if (Date.now() > deadline)
          throw uploadLost(
            `upload ${id} holds ${covered} of its ${length} bytes and the replica storing the rest stopped; start the upload again`,
          );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /**
   * Completes the multipart upload another replica wrote at offset `covered` of upload `id` once
   * its parts reach `gapEnd` (where the next segment starts, or the upload's end): `progress`
   * when it did, `waiting` when parts are still missing, `none` when there is no such upload.
   */
  private async completeForeign(
    id: string,
    covered: number,
    gapEnd: number,
  ): Promise<'progress' | 'waiting' | 'none'> {
    const { objects } = this;
    const prefix = this.prefixOf(id);
    const open = (await objects.openMultiparts(prefix)).filter(
      (u) => parseSegmentName(u.key.slice(prefix.length))?.offset === covered,
    );
    for (const u of open) {
      const keep: { PartNumber: number; ETag: string }[] = [];
      let size = 0;
      for (const p of await objects.parts(u.key, u.uploadId)) {
        if (p.number !== keep.length + 1 || covered + size >= gapEnd) break;
        keep.push({ PartNumber: p.number, ETag: p.etag });
        size += p.size;
      }
      if (covered + size < gapEnd) continue;
      await objects.client
        .send(
          new CompleteMultipartUploadCommand({
            Bucket: objects.bucket,
            Key: u.key,
            UploadId: u.uploadId,
            MultipartUpload: { Parts: keep },
          }),
        )
        .catch(async (err: unknown) => {
          // Completed meanwhile by the replica that wrote it: the next look finds the segment.
          if (!isMissingUpload(err) && (await objects.size(u.key)) === undefined) throw err;
        });
      return 'progress';
    }
    return open.length > 0 ? 'waiting' : 'none';
  }
}

/**
 * Writes the object `target` from the segments `chain` (each's first `size` bytes, in order): a
 * small single segment by reading it back into a PUT, a larger whole one by CopyObject, several
 * (or part of one) by a
 * multipart upload of UploadPartCopy parts when each but the last is at least 5 MiB, else by
 * streaming `readAll(total)` once into a multipart upload.
 */
export async function copySegments(
  objects: S3Objects,
  target: string,
  chain: Segment[],
  readAll: (total: number) => Readable,
): Promise<void> {
  const { client, bucket } = objects;
  if (chain.length === 1 && chain[0]!.size <= REWRITE_LIMIT) {
    const { key, size } = chain[0]!;
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: target,
        Body: objects.stream(key, { start: 0, end: size - 1 }),
        ContentLength: size,
      }),
    );
  } else if (chain.length === 1 && (chain[0]!.objectSize ?? chain[0]!.size) === chain[0]!.size) {
    await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: target,
        CopySource: `${bucket}/${chain[0]!.key}`,
      }),
    );
  } else if (chain.length === 0) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: target, Body: '' }));
  } else if (chain.slice(0, -1).every((s) => s.size >= MIN_PART)) {
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: target }),
    );
    try {
      // The parts are copied a few at a time: each copy is a round trip the gateway spends
      // mostly waiting on its disks.
      const parts: { PartNumber: number; ETag?: string }[] = [];
      let next = 0;
      const copier = async (): Promise<void> => {
        while (next < chain.length) {
          const i = next;
          next += 1;
          const copied = await client.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: target,
              UploadId,
              PartNumber: i + 1,
              CopySource: `${bucket}/${chain[i]!.key}`,
              CopySourceRange: `bytes=0-${chain[i]!.size - 1}`,
            }),
          );
          parts[i] = { PartNumber: i + 1, ETag: copied.CopyPartResult?.ETag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(PART_COPIES, chain.length) }, copier));
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: target,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: target, UploadId }))
        .catch(() => {});
      throw err;
    }
  } else {
    const total = chain.reduce((n, s) => n + s.size, 0);
    await new Upload({
      client,
      params: { Bucket: bucket, Key: target, Body: readAll(total) },
      partSize: STREAM_PART,
      queueSize: 2,
    }).done();
  }
}
