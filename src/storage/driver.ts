/** The content store contract: dumb, content-addressed bytes and upload scratch space. */
import type { Readable } from 'node:stream';

/** A byte range, inclusive at both ends, as HTTP `Range` gives it. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A whole blob a store received from one request (see `ContentStore.receiveBlob`). */
export interface ReceivedBlob {
  /** The bytes received. */
  readonly size: number;
  /** Writes the blob under its digest, before the database commit that records it. */
  stage(): Promise<void>;
  /** Inside that commit: confirms the staged blob is still there (writing it again if it can). */
  confirm(): Promise<void>;
  /** Frees what held the bytes, and abandons them if they were never staged; idempotent. */
  drop(): Promise<void>;
  /**
   * Set when the store keeps this blob in the database instead (a small blob beside an object
   * store): the bytes the commit that records the blob must write with it (`stage` and `confirm`
   * then do nothing).
   */
  readonly inline?: Buffer;
}

/**
 * What the processes writing one upload share about its storage through the upload's session,
 * for stores with `sharedUploads` (given with each write, read, stage and commit of an upload
 * whose next write the caller holds the claim on; absent otherwise).
 */
export interface UploadNote {
  /** Unique to this claim among the upload's claims, and larger than every earlier one's. */
  readonly serial: number;
  /**
   * The store's own record of the upload as of its last recorded write (undefined: none); the
   * store replaces it as it writes, and the caller saves it with the write's progress.
   */
  record?: Buffer;
}

/**
 * The database's table of small blobs, as a store that keeps some blobs there reads it. Writing a
 * blob and setting it aside happen in the registry's own transactions (they must commit with the
 * records that name the blob); these run outside any.
 */
export interface SmallBlobTable {
  /** Blob `digest`'s bytes, unless the table has none or they are set aside. */
  read(digest: string): Promise<Buffer | undefined>;
  /** Puts set-aside bytes back; false when there were none. */
  restore(digest: string): Promise<boolean>;
  /** Deletes set-aside bytes for good (not bytes written again since); false when there were none. */
  purge(digest: string): Promise<boolean>;
  /** Digests whose bytes are set aside. */
  trashed(): Promise<string[]>;
}

/**
 * What every storage driver provides. Blobs are keyed by digest, uploads by an opaque id; the
 * registry core validates both before they reach a driver. Nothing here knows of repositories.
 */
export interface ContentStore {
  /**
   * Optional: the size up to which a blob may be handed to the commit that records it
   * (`ReceivedBlob.inline`, or an upload whose session row held its bytes) and is then read from
   * the database's small-blob table; absent or 0 when the store keeps every blob itself.
   */
  readonly inlineBytes?: number;
  /**
   * Optional: true when another process may continue an upload this one started (a store that
   * replicas share); the registry then saves each upload's running hash with its session, so a
   * replica taking an upload over need not read back its bytes.
   */
  readonly sharedUploads?: boolean;
  /** A stream of a blob's bytes, or of the given range of them. */
  readBlob(digest: string, range?: ByteRange): Readable;
  /**
   * The file of blob `digest` of `size` bytes on this machine's disk, for drivers that keep one
   * (the HTTP edge then sends it with reused buffers instead of a stream), or undefined when this
   * blob may have none (a small blob kept in the database: read it with `readBlob`). Absent for
   * remote stores.
   */
  localBlobFile?(digest: string, size: number): string | undefined;
  /**
   * A short-lived URL the client may fetch the blob from directly (presigned object-store GETs),
   * or undefined to serve it through Berth.
   */
  redirectUrl?(digest: string): Promise<string | undefined>;
  /**
   * Starts an empty upload (again: an upload started before loses what it held). The registry
   * calls it only once the upload needs the store — before appending from offset 0, or to
   * complete an upload of no bytes — so an upload whose bytes go elsewhere (a whole blob the
   * store receives, or one the database keeps) costs the store nothing.
   */
  createUpload(id: string): Promise<void>;
  /**
   * Writes `source` to an upload from `offset` on (dropping anything past `offset` first), passing
   * each chunk to `observe` in order as it goes (for hashing), and returns the new size. The bytes
   * may still be in the page cache: `commitUpload` makes them durable before they become a blob
   * (a system crash in between can shorten an upload; a process kill cannot). Backpressure is honoured: the source is never read faster than it is written.
   * `length`, when the client announced it, lets a driver send the bytes in one request.
   */
  appendUpload(
    id: string,
    offset: number,
    source: Readable,
    observe: (chunk: Buffer) => void,
    length?: number,
    note?: UploadNote,
  ): Promise<number>;
  /**
   * Optional: receives a whole blob that one request both uploads and completes (an upload with
   * no bytes yet), passing each chunk to `observe` as it goes, for stores where writing it to the
   * upload first would cost a copy at commit. Nothing is visible under `digest` until `stage`;
   * the caller verifies the digest in between and always calls `drop` at the end.
   */
  receiveBlob?(
    digest: string,
    source: Readable,
    observe: (chunk: Buffer) => void,
    length?: number,
  ): Promise<ReceivedBlob>;
  /**
   * Optional: whether `receiveBlob` takes a whole blob whose length is `length` (undefined: not
   * announced); without it, `receiveBlob` takes every whole blob.
   */
  receivesWhole?(length: number | undefined): boolean;
  /** A stream of an upload's first `length` bytes. */
  readUpload(id: string, length: number, note?: UploadNote): Readable;
  /**
   * Optional, before the database commit that records the blob (and outside its lock): writes
   * the blob `digest` of `size` bytes from the upload's bytes, for stores where that takes long.
   */
  stageUpload?(id: string, digest: string, size: number, note?: UploadNote): Promise<void>;
  /**
   * Makes an upload's bytes the blob `digest`, atomically (inside the database commit that
   * records it); the upload is gone afterwards, or — for stores with `releaseUpload` — once that
   * has run.
   */
  commitUpload(id: string, digest: string, note?: UploadNote): Promise<void>;
  /** Optional, after the database commit: removes what remains of a committed upload. */
  releaseUpload?(id: string): Promise<void>;
  /** Removes an upload and its bytes; absent uploads are fine. */
  deleteUpload(id: string): Promise<void>;
  /** Ids of every upload the store holds. */
  listUploads(): Promise<string[]>;
  /**
   * Optional: the digest upload `id` was being committed as when its commit began (stores whose
   * commit can leave a blob behind if the process dies before the database commit).
   */
  committedAs?(id: string): Promise<string | undefined>;
  /** Optional: whether upload `id` still has its data (stores that can tell cheaply). */
  hasUpload?(id: string): Promise<boolean>;
  /** Moves a blob aside so it can be restored if the deletion is not committed. */
  trashBlob(digest: string): Promise<void>;
  /** Puts a trashed blob back. */
  restoreBlob(digest: string): Promise<void>;
  /** Deletes a trashed blob for good. */
  purgeTrashedBlob(digest: string): Promise<void>;
  /** Digests of the blobs in the trash. */
  listTrash(): Promise<string[]>;
}
