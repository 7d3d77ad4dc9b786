/**
 * Which file holds an upload's bytes where replicas share the filesystem store on a shared folder
 * and the database (each write then holds a claim on the upload, `AppendClaims`, and the store
 * gets an `UploadNote`). An upload is one file each write appends to at its offset. A write whose
 * claim lapsed (its process stalled) or whose store write failed part-way may still write into
 * that file, past the recorded bytes, after another write has taken the upload over — over that
 * write's bytes, which the running hash no longer matches. So a write goes on in the recorded file
 * only when the claim just before its own wrote it last and stored all it read; any other first
 * copies the recorded bytes into a file of its own claim (`claimed/<id>/<serial>`) and writes
 * there, leaving the old file to whatever may still write into it. Claims on an upload are
 * numbered one after another, so a claim that lapsed before recording shows as a gap.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { BerthError } from '../oci/index.js';
import type { UploadNote } from './driver.js';
import type { FsLayout } from './fs-layout.js';
import { parsed, whole } from './stored-json.js';

/** The store's record of an upload's file, as the session keeps it (`UploadNote.record`). */
export interface FsUploadRecord {
  /** The serial of the claim whose file holds the recorded bytes; 0: the upload's own file. */
  file: number;
  /** The serial of the claim whose write (or commit) set this record. */
  by: number;
  /** Whether that write stored all it read: none of its writes can still land. */
  done: boolean;
}

/** An upload with no record: its own file, as if a claim 0 before the first had written it. */
const UNRECORDED: FsUploadRecord = { file: 0, by: 0, done: true };

/** The record as the session stores it. */
export function encodeFsUploadRecord(record: FsUploadRecord): Buffer {
  return Buffer.from(JSON.stringify({ f: record.file, b: record.by, d: record.done ? 1 : 0 }));
}

/** A stored record, or undefined when the session holds none this code wrote. */
export function decodeFsUploadRecord(stored: Buffer | undefined): FsUploadRecord | undefined {
  const v = parsed<{ f?: unknown; b?: unknown; d?: unknown }>(stored);
  if (!v || !whole(v.f) || !whole(v.b) || (v.d !== 0 && v.d !== 1)) return undefined;
  return { file: v.f, by: v.b, done: v.d === 1 };
}

/** The record in `note`; an unreadable one counts as a gap (the next write copies). */
function recordOf(note: UploadNote): FsUploadRecord {
  if (!note.record) return UNRECORDED;
  return decodeFsUploadRecord(note.record) ?? { file: 0, by: -1, done: false };
}

/** The path of the file `file` (a claim's serial, or 0) of upload `id`. */
function fileOf(layout: FsLayout, id: string, file: number): string {
  return file === 0 ? layout.uploadData(id) : layout.claimedUpload(id, file);
}

/**
 * The file holding the recorded bytes of upload `id` (read with `note`, if any), for reading
 * them: whatever may still write into it writes only past them.
 */
export function recordedUploadFile(layout: FsLayout, id: string, note?: UploadNote): string {
  return note ? fileOf(layout, id, recordOf(note).file) : layout.uploadData(id);
}

/**
 * The file the write (or commit) under `note` goes on in, the upload holding `size` recorded
 * bytes: the recorded file when the claim before this one wrote it last and stored all it read
 * (or this claim did), else a new file of this claim's with a copy of the recorded file's first
 * `size` bytes (a claimed file left behind is removed: nothing reads it again). `note` then
 * records the file as this claim's, its write not yet done (see `markStored`).
 */
export async function claimUploadFile(
  layout: FsLayout,
  id: string,
  note: UploadNote,
  size: number,
): Promise<string> {
  const record = recordOf(note);
  const goesOn = record.done && (record.by === note.serial - 1 || record.by === note.serial);
  const file = goesOn ? record.file : note.serial;
  if (!goesOn) {
    await copyRecordedBytes(
      id,
      fileOf(layout, id, record.file),
      layout.claimedUpload(id, file),
      size,
    );
    if (record.file !== 0) await fs.unlink(fileOf(layout, id, record.file)).catch(() => undefined);
  }
  note.record = encodeFsUploadRecord({ file, by: note.serial, done: false });
  return fileOf(layout, id, file);
}

/** Records in `note` that the write under it stored all it read. */
export function markStored(note: UploadNote): void {
  const record = recordOf(note);
  note.record = encodeFsUploadRecord({ ...record, done: true });
}

/**
 * Copies the first `size` bytes of `from` to a new file `to` (`fs.copyFile`: a clone sharing
 * the blocks where the filesystem makes one — XFS, btrfs — else copied inside the kernel, never
 * through this process); BLOB_UPLOAD_UNKNOWN when `from` holds fewer (a system crash lost them).
 */
async function copyRecordedBytes(
  id: string,
  from: string,
  to: string,
  size: number,
): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  if (size === 0) {
    await fs.writeFile(to, '');
    return;
  }
  // Bytes a late write adds past `size` while this copies are cut off after.
  // A clone is copy-on-write: a late write into `from` after it never reaches `to`.
  await fs.copyFile(from, to, constants.COPYFILE_FICLONE);
  const { size: copied } = await fs.stat(to);
  if (copied < size)
    throw new BerthError(
      'BLOB_UPLOAD_UNKNOWN',
      `upload ${id} holds ${copied} of its ${size} bytes after a crash; start the upload again`,
    );
  if (copied > size) await fs.truncate(to, size);
}
