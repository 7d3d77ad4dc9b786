/**
 * The record an upload's session keeps of the S3 multipart upload its chunks go to, so whichever
 * replica takes the next chunk adds a part to the same multipart upload instead of starting a
 * segment of its own (which would cost a copy of every byte at commit): which multipart upload,
 * where in the upload it starts, and which parts — by number and size — hold acknowledged chunks.
 * A part number is the serial of the claim the chunk was written under, counted from the claim
 * that started the multipart upload: a write whose claim lapsed may still land its part, but
 * under a number no later write takes and no record lists, so completing the recorded parts
 * leaves it out.
 */

import { parsed, whole } from './stored-json.js';

/** One open multipart upload of an upload, as its session records it. */
export interface SegmentRecord {
  /** The S3 multipart upload id. */
  uploadId: string;
  /** The upload offset its first part starts at (its segment's name). */
  base: number;
  /** The serial of the claim that started it: its part numbers count from there. */
  serialBase: number;
  /**
   * Whether its segment's name carries `serialBase` (see `segmentName`); records written before
   * segments were named so do not.
   */
  named: boolean;
  /** The parts holding acknowledged chunks, in upload order (ascending numbers). */
  parts: { number: number; size: number }[];
}

/** The part number S3 allows at most. */
export const MAX_PART_NUMBER = 10_000;

/** The part number of the write under claim `serial` in `record`'s multipart upload. */
export function partNumberFor(serialBase: number, serial: number): number {
  return serial - serialBase + 1;
}

/** The bytes of the upload the record's parts hold, from its base. */
export function recordedBytes(record: SegmentRecord): number {
  return record.parts.reduce((n, p) => n + p.size, 0);
}

/** The record as the session stores it: JSON, with runs of equal-sized consecutive parts. */
export function encodeSegmentRecord(record: SegmentRecord): Buffer {
  const runs: [number, number, number][] = [];
  for (const p of record.parts) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === p.number && last[2] === p.size) last[1] += 1;
    else runs.push([p.number, 1, p.size]);
  }
  return Buffer.from(
    JSON.stringify({
      u: record.uploadId,
      b: record.base,
      s: record.serialBase,
      p: runs,
      ...(record.named ? { n: 1 } : {}),
    }),
  );
}

/** A stored record, or undefined when there is none or it is not one this code wrote. */
export function decodeSegmentRecord(stored: Buffer | undefined): SegmentRecord | undefined {
  const v = parsed<{ u?: unknown; b?: unknown; s?: unknown; p?: unknown; n?: unknown }>(stored);
  if (!v || typeof v.u !== 'string' || !whole(v.b) || !whole(v.s) || !Array.isArray(v.p))
    return undefined;
  const parts: SegmentRecord['parts'] = [];
  for (const run of v.p as unknown[]) {
    if (!Array.isArray(run) || run.length !== 3 || !run.every(whole)) return undefined;
    const [first, count, size] = run as [number, number, number];
    if (count > MAX_PART_NUMBER) return undefined;
    for (let i = 0; i < count; i += 1) parts.push({ number: first + i, size });
  }
  const ascending = parts.every((p, i) => i === 0 || p.number > parts[i - 1]!.number);
  if (!ascending || parts.some((p) => p.number < 1 || p.number > MAX_PART_NUMBER)) return undefined;
  return { uploadId: v.u, base: v.b, serialBase: v.s, named: v.n === 1, parts };
}

/**
 * The last segment a recorded write stored as one object (not as parts): where it starts, the
 * serial of the claim it was written under (its name carries it) and the bytes it holds.
 */
export interface PlainSegmentRecord {
  base: number;
  serial: number;
  size: number;
}

/** The plain segment's record as the session stores it (in place of a multipart record). */
export function encodePlainSegment(record: PlainSegmentRecord): Buffer {
  return Buffer.from(JSON.stringify({ o: record.base, k: record.serial, z: record.size }));
}

/** A stored plain segment's record, or undefined when the session holds none. */
export function decodePlainSegment(stored: Buffer | undefined): PlainSegmentRecord | undefined {
  const v = parsed<{ o?: unknown; k?: unknown; z?: unknown }>(stored);
  if (!v || !whole(v.o) || !whole(v.k) || !whole(v.z)) return undefined;
  return { base: v.o, serial: v.k, size: v.z };
}
