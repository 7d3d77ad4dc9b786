/** The filesystem driver: durable writes (fsync, then rename) into the layout of `fs-layout.ts`. */
import { constants, createReadStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../oci/index.js';
import type { ByteRange, ContentStore, UploadNote } from './driver.js';
import { batchedFileSink, type FileSink } from './batched-file-sink.js';
import { BackgroundWork } from './background-work.js';
import { alignedBuffersAvailable, directIoBuffers } from '../kit/index.js';
import { directFileSink } from './direct-file-sink.js';
import { FsLayout } from './fs-layout.js';
import { claimUploadFile, markStored, recordedUploadFile } from './fs-upload-claims.js';

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Runs `work`; an ENOENT gives `fallback` instead of an error. */
async function unlessMissing<T>(work: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isMissing(err)) return fallback;
    throw err;
  }
}

/**
 * Makes the folders a recursive mkdir of `folder` created (the first being `created`; none when
 * undefined) durable: each one's entry synced in the folder holding it.
 */
async function syncNewFolders(folder: string, created: string | undefined): Promise<void> {
  if (created)
    for (let made = folder; ; made = path.dirname(made)) {
      await syncPath(path.dirname(made));
      if (made === created || made === path.dirname(made)) break;
    }
}

/**
 * Runs `work` on `file`; when the folder it needs is missing, creates it (durably: each new
 * folder's entry is synced in the folder holding it) and runs it once more.
 */
async function withParentFolder(file: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (!isMissing(err)) throw err;
    const folder = path.dirname(file);
    await syncNewFolders(folder, await fs.mkdir(folder, { recursive: true }));
    await work();
  }
}

/** ENOSPC and EDQUOT as STORAGE_FULL (507); anything else as it is. */
function spaceError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  return new BerthError('STORAGE_FULL', "the registry's storage is full", undefined, {
    cause: err,
  });
}

/** Opens `file` (a file or a folder) and syncs it: all of it, or with `dataOnly` its bytes and size. */
async function syncPath(file: string, dataOnly = false): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await (dataOnly ? handle.datasync() : handle.sync());
  } finally {
    await handle.close();
  }
}

/** Renames `from` to `to` (creating `to`'s folder when missing) and makes the rename durable. */
async function durableRename(from: string, to: string): Promise<void> {
  await withParentFolder(to, () => fs.rename(from, to));
  await syncPath(path.dirname(to));
}

/**
 * Creates all 256 shard folders of `digest`'s algorithm at once, durably (a new folder's entry
 * synced in the folder holding it, once for all of them), instead of one folder — and one more
 * folder sync — at the first blob of each: on a new store that was an extra fsync for most of the
 * first few hundred blobs.
 */
async function createShardFolders(layout: FsLayout, digest: string): Promise<void> {
  const { algorithm, shards } = layout.shardFolders(digest);
  await syncNewFolders(algorithm, await fs.mkdir(algorithm, { recursive: true }));
  await Promise.all(
    shards.map((shard) =>
      fs.mkdir(shard).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      }),
    ),
  );
  await syncPath(algorithm);
}

/** Chunks announced shorter than this are written through the page cache. */
const DIRECT_FROM_BYTES = 1 << 20;

/** How an `FsContentStore` writes. */
export interface FsContentStoreOptions {
  /**
   * Upload bytes around the page cache (`O_DIRECT`) when the direct I/O addon is built and the
   * filesystem takes it (default true); else through the page cache, synced in the background.
   */
  directWrites?: boolean;
}

/** A content store on a local filesystem. */
export class FsContentStore implements ContentStore {
  private readonly layout: FsLayout;
  private readonly writeBehind = new BackgroundWork();
  /** Algorithms whose shard folders this store has created (see `createShardFolders`). */
  private readonly sharded = new Set<string>();
  /** Whether appends still try `O_DIRECT` (off once the filesystem refused it). */
  private directWrites: boolean;

  constructor(root: string, options: FsContentStoreOptions = {}) {
    this.layout = new FsLayout(path.resolve(root));
    this.directWrites = (options.directWrites ?? true) && alignedBuffersAvailable();
  }

  /** Whether this store's appends are written around the page cache. */
  get writesDirectly(): boolean {
    return this.directWrites;
  }

  /** A second handle on `file` with `O_DIRECT`, or undefined where the filesystem refuses it. */
  private async openDirect(file: string): Promise<FileHandle | undefined> {
    if (!this.directWrites) return undefined;
    try {
      return await fs.open(file, constants.O_WRONLY | constants.O_DIRECT);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      this.directWrites = false;
      return undefined;
    }
  }

  readBlob(digest: string, range?: ByteRange): Readable {
    // 1 MiB reads: big enough for fast socket writes, small enough to keep 8 parallel pulls lean.
    const options = { highWaterMark: 1 << 20 };
    return createReadStream(
      this.layout.blob(digest),
      range ? { ...options, start: range.start, end: range.end } : options,
    );
  }

  localBlobFile(digest: string): string {
    return this.layout.blob(digest);
  }

  async createUpload(id: string): Promise<void> {
    const file = this.layout.uploadData(id);
    await withParentFolder(file, async () => (await fs.open(file, 'w')).close());
  }

  async appendUpload(
    id: string,
    offset: number,
    source: Readable,
    observe: (chunk: Buffer) => void,
    length?: number,
    note?: UploadNote,
  ): Promise<number> {
    // Opening with 'w' truncates in the same call; later chunks drop whatever lies past `offset`.
    const file = note
      ? await claimUploadFile(this.layout, id, note, offset)
      : this.layout.uploadData(id);
    const handle = await fs.open(file, offset === 0 ? 'w' : 'r+');
    let direct: FileHandle | undefined;
    let written = 0;
    let sink: FileSink | undefined;
    try {
      if (offset > 0) await handle.truncate(offset);
      // A chunk announced small goes through the cache: its few blocks gain nothing, and each
      // direct write would first flush the partial block the previous chunk left cached.
      if (length === undefined || length >= DIRECT_FROM_BYTES) direct = await this.openDirect(file);
      source.on('data', (chunk: Buffer) => {
        written += chunk.byteLength;
        observe(chunk);
      });
      sink = direct
        ? directFileSink(
            { direct, buffered: handle },
            offset,
            directIoBuffers,
            () => void (this.directWrites = false),
          )
        : batchedFileSink(handle, offset);
      await pipeline(source, sink.stream);
      if (note) markStored(note);
    } catch (err) {
      throw spaceError(err);
    } finally {
      // A write or background sync may still run: the handles close after it, without holding
      // the answer.
      const settled = sink?.settled() ?? Promise.resolve();
      const opened = direct;
      this.writeBehind.add(
        id,
        settled.finally(() => Promise.all([handle.close(), opened?.close()])),
      );
    }
    return offset + written;
  }

  async hasUpload(id: string): Promise<boolean> {
    try {
      await fs.access(this.layout.uploadData(id));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  readUpload(id: string, length: number, note?: UploadNote): Readable {
    if (length === 0) return Readable.from([]);
    return createReadStream(recordedUploadFile(this.layout, id, note), {
      start: 0,
      end: length - 1,
      highWaterMark: 1 << 20,
    });
  }

  /**
   * Makes the upload's file hold exactly its `size` recorded bytes: where replicas share the
   * folder, first a file no other write may still write into (`claimUploadFile`), and never a
   * blob of bytes a failed write stored past the recorded end (a chunk longer than its range).
   */
  async stageUpload(id: string, _digest: string, size: number, note?: UploadNote): Promise<void> {
    const file = note
      ? await claimUploadFile(this.layout, id, note, size)
      : this.layout.uploadData(id);
    if (note) markStored(note);
    // A shorter file (a system crash) is left as it is: the upload's hash was read back from it.
    const stored = await unlessMissing(() => fs.stat(file), undefined);
    if (stored && stored.size > size) await fs.truncate(file, size);
  }

  /**
   * Syncs the upload's bytes, notes the digest the upload becomes, links the upload's file (the
   * one `stageUpload` left) as the blob (a blob file already there is the same verified bytes)
   * and syncs the folder. The upload's own file stays until
   * `releaseUpload`, after the database commit, so a crash before that commit leaves the upload
   * whole and resumable, and the note says which blob file the crash may have left.
   */
  async commitUpload(id: string, digest: string, note?: UploadNote): Promise<void> {
    // Appends are written behind, not synced: the bytes become durable here, before the blob.
    await this.writeBehind.settle(id);
    const file = recordedUploadFile(this.layout, id, note);
    await syncPath(file, true);
    const committing = this.layout.uploadCommitNote(id);
    await withParentFolder(committing, () => fs.writeFile(committing, digest));
    const blob = this.layout.blob(digest);
    const link = () => fs.link(file, blob);
    try {
      await link().catch(async (err: unknown) => {
        if (!isMissing(err)) throw err;
        const algorithm = digest.slice(0, digest.indexOf(':'));
        if (!this.sharded.has(algorithm)) {
          await createShardFolders(this.layout, digest);
          this.sharded.add(algorithm);
        }
        await withParentFolder(blob, link);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw spaceError(err);
    }
    await syncPath(path.dirname(blob));
  }

  /** After the commit is recorded, the upload's own file and its note go as in `deleteUpload`. */
  releaseUpload(id: string): Promise<void> {
    return this.deleteUpload(id);
  }

  async committedAs(id: string): Promise<string | undefined> {
    const note = await unlessMissing(
      () => fs.readFile(this.layout.uploadCommitNote(id), 'utf8'),
      undefined,
    );
    return note || undefined;
  }

  async deleteUpload(id: string): Promise<void> {
    await this.writeBehind.settle(id).catch(() => undefined);
    // Plain files: one unlink each (fs.rm would lstat first and walk like a directory remover);
    // the folder of files written under claims, where a write took the upload over, with fs.rm.
    // The bytes first, the note (which blob a crash may have left) last.
    await unlessMissing(() => fs.unlink(this.layout.uploadData(id)), undefined);
    await fs.rm(this.layout.claimedUploadDir(id), { recursive: true, force: true });
    await unlessMissing(() => fs.unlink(this.layout.uploadCommitNote(id)), undefined);
  }

  async listUploads(): Promise<string[]> {
    const [plain, claimed] = await Promise.all([
      this.readdirOrEmpty(this.layout.uploadsDir()),
      this.readdirOrEmpty(this.layout.claimedDir()),
    ]);
    return [...new Set([...plain, ...claimed])];
  }

  async trashBlob(digest: string): Promise<void> {
    await unlessMissing(
      () => durableRename(this.layout.blob(digest), this.layout.trashed(digest)),
      undefined,
    );
  }

  async restoreBlob(digest: string): Promise<void> {
    await unlessMissing(
      () => durableRename(this.layout.trashed(digest), this.layout.blob(digest)),
      undefined,
    );
  }

  async purgeTrashedBlob(digest: string): Promise<void> {
    await unlessMissing(() => fs.unlink(this.layout.trashed(digest)), undefined);
  }

  async listTrash(): Promise<string[]> {
    const names = await this.readdirOrEmpty(this.layout.trashDir());
    return names
      .map((n) => FsLayout.digestOfTrashName(n))
      .filter((d): d is string => d !== undefined);
  }

  private readdirOrEmpty(dir: string): Promise<string[]> {
    return unlessMissing(() => fs.readdir(dir), []);
  }
}
