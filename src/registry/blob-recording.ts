/**
 * Recording a verified blob: the quota checks, the store's staging outside the database's write
 * lock, and the commit that records it (with the small-blob table's bytes, when it holds them).
 */
import type { Meta, UploadRecord } from '../meta/index.js';
import { changeEvent } from './change-events.js';
import type { ChangeContext, EventSink } from './ports.js';
import { QuotaGuard, type Headroom } from './quota-guard.js';
import type { UploadHashes } from './upload-hashes.js';

/** A verified blob's bytes as the commit needs them: staged first, confirmed inside it. */
export interface StagedBlob {
  stage(): Promise<void>;
  confirm(): Promise<void>;
  /** Bytes the commit writes to the small-blob table itself. */
  inline?: Buffer;
}

/** A blob whose bytes the commit that records it writes to the small-blob table. */
export function inlineBlob(bytes: Buffer): StagedBlob {
  const nothing = async (): Promise<void> => {};
  return { inline: bytes, stage: nothing, confirm: nothing };
}

/** Records the blobs of verified uploads. */
export class BlobRecorder {
  /** `discard(id)` forgets an upload and its bytes (a blob the quota refuses). */
  constructor(
    private readonly meta: Meta,
    private readonly quotas: QuotaGuard,
    private readonly hashes: UploadHashes,
    private readonly events: EventSink,
    private readonly discard: (id: string) => Promise<void>,
  ) {}

  /**
   * Records a verified blob of `size` bytes from `upload`: the quota checks, then `blob.stage`
   * (outside the database's write lock, for slow stores), then the commit, inside which
   * `blob.confirm` checks the staged bytes are still there — a collection can never take them
   * in between. Removals are counted in the transactions that make them, serialized with this
   * one, so an unchanged count proves the staged bytes untouched.
   */
  async record(
    name: string,
    upload: UploadRecord,
    digest: string,
    size: number,
    room: Headroom | undefined,
    context: ChangeContext | undefined,
    blob: StagedBlob,
    /**
     * Confirm only when some blob was removed since the stage began (for stores where confirming
     * is a round trip, and staging wrote the whole blob).
     */
    confirmAfterRemovalsOnly = false,
  ): Promise<void> {
    if (room !== undefined && size > room.room) {
      await this.discard(upload.id);
      throw QuotaGuard.refusal(room.quota, room.used, room.limit, size);
    }
    const quotas = await this.quotas.covering(name);
    // Bytes the commit writes itself need no confirming (`confirm` does nothing for them).
    const removals =
      confirmAfterRemovalsOnly && !blob.inline ? await this.meta.gc.removals() : undefined;
    await blob.stage();
    await this.meta.writeTransaction(async (m) => {
      await this.quotas.admitBytes(m, quotas, name, digest, size, context);
      // A small blob the store keeps in the database is written here, durable with its record.
      await m.blobCommits.record({
        digest,
        size,
        repositoryId: upload.repositoryId,
        uploadId: upload.id,
        inline: blob.inline,
        event: changeEvent('blob.uploaded', { repository: name, digest, size }, context),
      });
      if (removals === undefined || (await m.gc.removals()) !== removals) await blob.confirm();
    });
    this.hashes.forget(upload.id);
    this.events.committed();
  }
}
