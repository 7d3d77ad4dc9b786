/**
 * Blob uploads: sessions, streamed and chunked appends, monolithic uploads and completion.
 * Bytes are hashed as they stream to storage (the running hashes: upload-hashes.ts; appending a
 * chunk: upload-chunks.ts; recording a verified blob: blob-recording.ts; the claims on an
 * upload's writes across replicas: append-claims.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BerthError, parseDigest, type Digest } from '../oci/index.js';
import { digesting, isReadAlone, noteReceivedChunk, runningDigest } from '../kit/index.js';
import type { Meta, UploadRecord } from '../meta/index.js';
import type { ContentStore, ReceivedBlob } from '../storage/index.js';
import { KeyedMutex } from './keyed-mutex.js';
import { uploaderOf, UNLIMITED_UPLOADS, type UploadLimits } from './upload-limits.js';
import { UploadChunks, type ChunkRange } from './upload-chunks.js';
import type { ByteCounter, ChangeContext, EventSink } from './ports.js';
import type { ReadCache } from './read-cache.js';
import { QuotaGuard, type Headroom } from './quota-guard.js';
import { uploadDataGone, UploadHashes } from './upload-hashes.js';
import { AppendClaims, readWhileClaimed, type AppendClaim } from './append-claims.js';
import { BlobRecorder, inlineBlob } from './blob-recording.js';

export type { ChunkRange } from './upload-chunks.js';

/** The state of an upload a client can see. */
export interface UploadState {
  id: string;
  repository: string;
  size: number;
}

/** Runs upload sessions against the metadata database and a content store. */
export class UploadService {
  private readonly hashes: UploadHashes;
  private readonly chunks: UploadChunks;
  private readonly locks = new KeyedMutex();
  private readonly claims: AppendClaims;
  private readonly recorder: BlobRecorder;

  constructor(
    private readonly meta: Meta,
    private readonly store: ContentStore,
    private readonly events: EventSink,
    private readonly bytes: ByteCounter,
    private readonly cache: ReadCache,
    private readonly quotas: QuotaGuard,
    private readonly limits: UploadLimits = UNLIMITED_UPLOADS,
  ) {
    this.hashes = new UploadHashes(store);
    // Several processes serve the same uploads only on a shared (PostgreSQL) database.
    this.claims = new AppendClaims(meta, meta.dialect === 'postgres');
    this.chunks = new UploadChunks(meta, store, this.hashes, bytes, limits, (id) =>
      this.discard(id),
    );
    this.recorder = new BlobRecorder(meta, quotas, this.hashes, events, (id) => this.discard(id));
  }

  /**
   * Starts an upload session in repository `name` for whoever `context` names (an account, or
   * the client's address); TOOMANYREQUESTS when they have as many open as the limit allows.
   */
  async start(name: string, context?: ChangeContext): Promise<UploadState> {
    const owner = uploaderOf(context);
    const id = randomUUID();
    const known = await this.cache.repositoryId(this.meta, name);
    // The store hears of the upload only once it needs to (see ContentStore.createUpload).
    if (known === undefined) {
      // A repository is made only for an uploader within the limit.
      if (owner !== null) {
        const open = await this.meta.uploads.openBy(owner);
        if (open >= this.limits.sessions) throw tooManyUploads(owner, open);
      }
      await this.meta.uploads.create(id, await this.createRepository(name), owner);
    } else if (!(await this.meta.uploads.create(id, known, owner, this.limits.sessions))) {
      // Refused by the limit: the count is read again, for the message only.
      throw tooManyUploads(owner!, await this.meta.uploads.openBy(owner!));
    }
    this.hashes.set(id, 0, runningDigest());
    return { id, repository: name, size: 0 };
  }

  /**
   * The session `id` of repository `name`, or BLOB_UPLOAD_UNKNOWN — also when its data is gone
   * (then the session is forgotten too).
   */
  async status(name: string, id: string): Promise<UploadState> {
    const upload = await this.find(name, id);
    // Only bytes the store holds can be gone (the store may not have heard of an empty upload).
    const inStore = upload.size > 0 && !upload.held;
    if (inStore && this.store.hasUpload && !(await this.store.hasUpload(id))) {
      await this.locks.run(id, () => this.discard(id));
      throw new BerthError('BLOB_UPLOAD_UNKNOWN', `upload ${id} has no data`);
    }
    return { id, repository: name, size: upload.size };
  }

  /**
   * Appends a chunk. With `range`, its start must equal the bytes received so far (else 416), and
   * with `length` (Content-Length) the body must be exactly that long.
   */
  async append(
    name: string,
    id: string,
    body: Readable,
    range?: ChunkRange,
    length?: number,
  ): Promise<UploadState> {
    return this.locks.run(id, async () => {
      const { upload, claim } = await this.findClaimed(name, id);
      try {
        // A chunk's blob is not known yet (it may be one the namespace already holds, adding
        // nothing), so quotas are checked when the upload completes; the uploader's limits
        // bound it.
        const size = await readWhileClaimed(claim, body, () =>
          this.chunks.append(upload, body, range, length),
        );
        // The row holding the bytes is enough to hash them again; else the state, where saved.
        const state = upload.held ? null : await this.hashes.stateToSave(upload.id, size);
        await claim.advance(size, upload.held ?? null, state);
        return { id, repository: name, size };
      } catch (err) {
        await claim.release();
        throw err;
      }
    });
  }

  /**
   * Completes an upload: appends an optional final chunk (checked against `range` like any other),
   * verifies `digest`, and stores the blob.
   */
  async finish(
    name: string,
    id: string,
    digestValue: string,
    body?: Readable,
    length?: number,
    range?: ChunkRange,
    context?: ChangeContext,
  ): Promise<{ digest: string; size: number }> {
    const digest = this.parseUploadDigest(digestValue);
    return this.locks.run(id, async () => {
      // No other request may write to the upload while it becomes a blob (the commit ends it).
      const { upload, claim } = await this.findClaimed(name, id);
      try {
        const done = await readWhileClaimed(claim, body, () =>
          this.finishClaimed(name, upload, digest, body, length, range, context),
        );
        claim.ended();
        return done;
      } catch (err) {
        await claim.release();
        throw err;
      }
    });
  }

  /** `finish` for an upload whose writes this request holds the claim on. */
  private async finishClaimed(
    name: string,
    upload: UploadRecord,
    digest: Digest,
    body: Readable | undefined,
    length: number | undefined,
    range: ChunkRange | undefined,
    context: ChangeContext | undefined,
  ): Promise<{ digest: string; size: number }> {
    const { id } = upload;
    // The room a hard quota leaves this blob, read once: it bounds the body as it streams and
    // refuses the blob before a slow store writes it (the exact check is in the transaction).
    const room = await this.quotas.headroom(name, digest.value);
    if (
      body &&
      upload.size === 0 &&
      digest.algorithm === 'sha256' &&
      this.store.receiveBlob &&
      (this.store.receivesWhole?.(length) ?? true)
    )
      return this.finishWhole(name, upload, digest, body, length, range, room, context);
    const size = body
      ? await this.chunks.append(
          upload,
          QuotaGuard.bounding(room, upload.size, body, length),
          range,
          length,
        )
      : upload.size;
    const actual = await this.hashes.digestOf(upload, digest.algorithm);
    if (actual !== digest.value) throw await this.mismatch(id, digest.value, actual);
    const held = upload.held;
    if (held) {
      // The session's row held every byte: the blob goes to the small-blob table.
      await this.recorder.record(name, upload, digest.value, size, room, context, inlineBlob(held));
      return { digest: digest.value, size };
    }
    // An upload of no bytes may not be in the store yet.
    if (size === 0) await this.store.createUpload(id);
    await this.recorder.record(name, upload, digest.value, size, room, context, {
      stage: async () => {
        try {
          await this.store.stageUpload?.(id, digest.value, size, upload.note);
        } catch (err) {
          // Bytes the store acknowledged may be gone (a replica storing them stopped).
          const gone = uploadDataGone(err, id);
          if (gone !== err) await this.discard(id).catch(() => undefined);
          throw gone;
        }
      },
      confirm: () => this.store.commitUpload(id, digest.value, upload.note),
    });
    if (this.store.releaseUpload)
      this.store.releaseUpload(id).catch(() => {
        // Left-over upload bytes are removed by the upload expiry sweep.
      });
    return { digest: digest.value, size };
  }

  /**
   * `finish` for a body that is the whole blob, on a store that receives one without writing it
   * to the upload first (S3: no copy at commit). The same checks, in the same order.
   */
  private async finishWhole(
    name: string,
    upload: UploadRecord,
    digest: Digest,
    body: Readable,
    length: number | undefined,
    range: ChunkRange | undefined,
    room: Headroom | undefined,
    context: ChangeContext | undefined,
  ): Promise<{ digest: string; size: number }> {
    const hash = runningDigest();
    let received: ReceivedBlob | undefined;
    try {
      const size = await this.chunks.append(
        upload,
        QuotaGuard.bounding(room, upload.size, body, length),
        range,
        length,
        async (source, expected) => {
          // The body's own chunks may be freed once the store has sent or written them.
          const freeable = isReadAlone(source) ? () => true : undefined;
          received = await this.store.receiveBlob!(
            digest.value,
            digesting(source, hash, freeable),
            noteReceivedChunk,
            expected,
          );
          return this.chunks.counted(upload, received.size, expected);
        },
      );
      const actual = `sha256:${await hash.digest()}`;
      if (actual !== digest.value) throw await this.mismatch(upload.id, digest.value, actual);
      await this.recorder.record(name, upload, digest.value, size, room, context, received!, true);
      return { digest: digest.value, size };
    } finally {
      await received?.drop();
    }
  }

  /** Discards upload `id`, whose bytes hash to `actual`, not `expected`: the error to throw. */
  private async mismatch(id: string, expected: string, actual: string): Promise<BerthError> {
    await this.discard(id);
    const message = `uploaded content has digest ${actual}, not ${expected}`;
    return new BerthError('DIGEST_INVALID', message, { expected, actual });
  }

  /** Uploads a whole blob in one request (`POST …/uploads/?digest=`). */
  async monolithic(
    name: string,
    digestValue: string,
    body: Readable,
    length?: number,
    context?: ChangeContext,
  ): Promise<{ digest: string; size: number }> {
    this.parseUploadDigest(digestValue);
    const session = await this.start(name, context);
    try {
      return await this.finish(name, session.id, digestValue, body, length, undefined, context);
    } catch (err) {
      await this.discard(session.id);
      throw err;
    }
  }

  /** Creates repository `name` for a first upload, unless a repository-count quota refuses it. */
  private async createRepository(name: string): Promise<number> {
    const quotas = await this.quotas.covering(name);
    return this.meta.writeTransaction((m) => this.quotas.ensureRepository(m, quotas, name));
  }

  /** Cancels upload `id` and removes its data. */
  async cancel(name: string, id: string): Promise<void> {
    await this.locks.run(id, async () => {
      await this.find(name, id);
      await this.discard(id);
    });
  }

  /** Removes uploads idle for longer than `maxIdleMs`; returns how many. */
  async expire(maxIdleMs: number): Promise<number> {
    const ids = await this.meta.uploads.idleSince(Date.now() - maxIdleMs);
    for (const id of ids) {
      if (this.locks.idle(id)) await this.locks.run(id, () => this.discard(id));
    }
    const known = await this.meta.uploads.allIds();
    for (const id of await this.store.listUploads()) {
      if (!known.has(id) && this.locks.idle(id)) await this.store.deleteUpload(id);
    }
    return ids.length;
  }

  private parseUploadDigest(value: string | undefined): Digest {
    if (!value)
      throw new BerthError(
        'DIGEST_INVALID',
        'the digest query parameter is required to complete an upload',
      );
    return parseDigest(value);
  }

  private async find(name: string, id: string): Promise<UploadRecord> {
    const upload = await this.meta.uploads.get(id);
    if (!upload || upload.repository !== name) throw unknownUpload(name, id);
    return upload;
  }

  /**
   * The session `id` of repository `name` with the claim on its next write (see AppendClaims),
   * or BLOB_UPLOAD_UNKNOWN.
   */
  private async findClaimed(
    name: string,
    id: string,
  ): Promise<{ upload: UploadRecord; claim: AppendClaim }> {
    const claimed = await this.claims.claim(id);
    if (!claimed || claimed.upload.repository !== name) {
      await claimed?.claim.release();
      throw unknownUpload(name, id);
    }
    return claimed;
  }

  /**
   * Forgets upload `id` and its bytes; a blob stored for it by a commit that a crash kept from
   * being recorded goes too (inside the write lock, unless the blob was recorded meanwhile).
   */
  private async discard(id: string): Promise<void> {
    this.hashes.forget(id);
    // A commit a crash interrupted may have stored the blob: the store noted which.
    const committing = await this.store.committedAs?.(id);
    // The bytes go first: on a full disk that is what lets the database write again.
    await this.store.deleteUpload(id);
    const orphan = await this.meta.writeTransaction(async (m) => {
      await m.uploads.delete(id);
      if (!committing || (await m.blobs.size(committing)) !== undefined) return undefined;
      await m.gc.countRemoval();
      await m.inlineBlobs.trash(committing);
      await this.store.trashBlob(committing);
      return committing;
    });
    if (orphan) await this.store.purgeTrashedBlob(orphan);
  }
}

/** The refusal of one more upload session to `owner`, who has `open` unfinished ones. */
function tooManyUploads(owner: string, open: number): BerthError {
  return new BerthError(
    'TOOMANYREQUESTS',
    `${owner} has ${open} unfinished uploads, the most allowed; finish or cancel some`,
  );
}

/** The refusal of upload `id`, which repository `name` does not have. */
function unknownUpload(name: string, id: string): BerthError {
  return new BerthError(
    'BLOB_UPLOAD_UNKNOWN',
    `upload ${id.slice(0, 64)} is not known in ${name}`,
    {
      uuid: id.slice(0, 64),
    },
  );
}
