/**
 * The running hashes of upload sessions: kept in memory as bytes stream in, and re-derived after
 * a restart or on another replica — from the state saved with the session where the store is
 * shared by replicas, else from the bytes already stored — so sessions survive both.
 */
import { rememberBounded, resumedDigest, runningDigest, type RunningDigest } from '../kit/index.js';
import { BerthError, type Digest } from '../oci/index.js';
import type { UploadRecord } from '../meta/index.js';
import type { ContentStore } from '../storage/index.js';

/**
 * What to throw for `err` from the store about upload `id`: BLOB_UPLOAD_UNKNOWN when it says the
 * upload's bytes are gone (`ENOENT`), else `err` itself.
 */
export function uploadDataGone(err: unknown, id: string): unknown {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return err;
  return new BerthError('BLOB_UPLOAD_UNKNOWN', `upload ${id} has no data`, undefined, {
    cause: err,
  });
}

/** The sha256 of an upload's first `size` bytes. */
export interface LiveHash {
  size: number;
  hash: RunningDigest;
}

/** Running hashes kept in memory at most, by default (see `UploadHashes`). */
export const MOST_LIVE_HASHES = 10_000;

/**
 * Running upload hashes, by upload id: at most `most`, the least recently set forgotten first —
 * an upload another replica finishes is never forgotten here otherwise, and a forgotten hash is
 * re-derived when its upload goes on.
 */
export class UploadHashes {
  private readonly hashes = new Map<string, LiveHash>();

  constructor(
    private readonly store: ContentStore,
    private readonly most = MOST_LIVE_HASHES,
  ) {}

  /** Remembers `hash` as covering the first `size` bytes of upload `id`. */
  set(id: string, size: number, hash: RunningDigest): void {
    rememberBounded(this.hashes, id, { size, hash }, this.most);
  }

  /** Forgets upload `id`'s hash. */
  forget(id: string): void {
    this.hashes.delete(id);
  }

  /**
   * The running sha256 of the upload's bytes: in memory, or resumed from the state saved with
   * its session when that covers all of them, else re-read from storage.
   */
  async live(upload: UploadRecord): Promise<LiveHash> {
    const live = this.hashes.get(upload.id);
    if (live && live.size === upload.size) return live;
    const resumed = upload.hashState && resumedDigest(upload.hashState);
    const rebuilt = {
      size: upload.size,
      hash:
        resumed && resumed.size === upload.size
          ? resumed.hash
          : await this.stored(upload, 'sha256'),
    };
    rememberBounded(this.hashes, upload.id, rebuilt, this.most);
    return rebuilt;
  }

  /**
   * The state to save with upload `id`'s session now that it holds `size` bytes (null when the
   * store is not shared, or the state cannot be saved): see `ContentStore.sharedUploads`.
   */
  async stateToSave(id: string, size: number): Promise<Buffer | null> {
    const live = this.hashes.get(id);
    if (!this.store.sharedUploads || !live || live.size !== size) return null;
    return (await live.hash.state()) ?? null;
  }

  /** The digest of the upload's bytes with `algorithm`. */
  async digestOf(upload: UploadRecord, algorithm: Digest['algorithm']): Promise<string> {
    const hash =
      algorithm === 'sha256'
        ? await (await this.live(upload)).hash.copy()
        : await this.stored(upload, algorithm);
    return `${algorithm}:${await hash.digest()}`;
  }

  /**
   * A hash of the upload's recorded bytes, read back from storage; BLOB_UPLOAD_UNKNOWN when they
   * are gone.
   */
  private async stored(
    upload: UploadRecord,
    algorithm: Digest['algorithm'],
  ): Promise<RunningDigest> {
    const hash = runningDigest(algorithm);
    // Nothing to read back (and the store may not have heard of the upload yet).
    if (upload.size === 0) return hash;
    let stored = 0;
    try {
      // Bytes the session's row holds are not in the store (see UploadChunks).
      const source = upload.held
        ? [upload.held]
        : this.store.readUpload(upload.id, upload.size, upload.note);
      for await (const chunk of source) {
        await hash.update(chunk as Buffer);
        stored += (chunk as Buffer).byteLength;
      }
    } catch (err) {
      throw uploadDataGone(err, upload.id);
    }
    // Appends are synced at commit: a system crash before it can leave fewer bytes than recorded.
    if (stored < upload.size)
      throw new BerthError(
        'BLOB_UPLOAD_UNKNOWN',
        `upload ${upload.id} holds ${stored} of its ${upload.size} bytes after a crash; start the upload again`,
      );
    return hash;
  }
}
