/**
 * Claims on an upload session's next write, where several processes share the database
 * (replicas on PostgreSQL). Each process serializes the writes of an upload it serves (a lock in
 * memory); across replicas, two requests could otherwise write the same offset of one upload at
 * once — on S3 the same segment key, on a shared folder the same file — and the bytes stored end
 * up another request's than those the running hash covers: a blob whose bytes do not match its
 * digest. A claim is taken in the database before writing, only while the upload still holds the
 * bytes the request read and no other claim is live; it ends with the write's recorded progress,
 * is renewed while a long write goes on, and lapses if its process dies.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BerthError } from '../oci/index.js';
import type { Meta, UploadRecord } from '../meta/index.js';

/** How long a claim lasts without renewal; renewed every third of it while its write goes on. */
export const APPEND_CLAIM_MS = 60_000;

/** The `lost` signal of a claim that cannot be lost (nothing shared). */
const NEVER_LOST = new AbortController().signal;

/** A claim held on one upload's write. */
export interface AppendClaim {
  /**
   * Records the write's progress (as `UploadStore.advance`), with the content store's record the
   * write left in the claimed upload's `note`, and ends the claim.
   */
  advance(size: number, held: Buffer | null, hashState: Buffer | null): Promise<void>;
  /**
   * Ends the claim without recording progress (the write failed, or the upload is gone); the
   * content store's record is saved as the write left it.
   */
  release(): Promise<void>;
  /** Stops renewing a claim the upload's commit ended (its session is gone). */
  ended(): void;
  /**
   * Aborted (with a RANGE_INVALID reason) once the claim can no longer be counted on: another
   * write holds it, or it went unrenewed for half its length (the database unreachable) — while
   * it cannot yet have lapsed, so a write that stops then never writes after another has taken
   * the upload over (unless its process stalls for the rest of the claim's length).
   */
  readonly lost: AbortSignal;
}

/** Takes claims on uploads' writes; takes none where the database is this process's alone. */
export class AppendClaims {
  /** Claims of this process being renewed now. */
  private renewals = 0;

  constructor(
    private readonly meta: Meta,
    private readonly shared: boolean,
    private readonly lastsMs = APPEND_CLAIM_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Upload `id` as read with the claim on its next write (in one statement), or undefined when
   * it is unknown; RANGE_INVALID when another request holds the claim. Where nothing is shared,
   * the upload with a claim that only records.
   */
  async claim(id: string): Promise<{ upload: UploadRecord; claim: AppendClaim } | undefined> {
    const { uploads } = this.meta;
    if (!this.shared) {
      const upload = await uploads.get(id);
      return (
        upload && {
          upload,
          claim: {
            advance: async (size, held, hashState) => {
              await uploads.advance(id, size, held, hashState);
            },
            release: async () => {},
            ended: () => {},
            lost: NEVER_LOST,
          },
        }
      );
    }
    const token = randomUUID();
    const now = this.clock();
    const upload = await uploads.claimAndGet(id, token, now, now + this.lastsMs);
    if (!upload) {
      const known = await uploads.get(id);
      if (!known) return undefined;
      throw new BerthError(
        'RANGE_INVALID',
        `another request is writing to upload ${id}; ask for its offset once it is done and go on from there`,
        { size: known.size },
      );
    }
    // Renewed until the write ends, or until the claim is no longer there to renew; lost once
    // another holds it, or once it has gone unrenewed for half its length.
    const lost = new AbortController();
    const lose = (why: string): void => {
      // A renewal answered after the write ended (its progress recorded) changes nothing.
      if (renewal === undefined) return;
      stop();
      lost.abort(
        new BerthError(
          'RANGE_INVALID',
          `the claim on upload ${id} ${why}; the write stopped: ask for its offset and go on from there`,
          { size: upload.size },
        ),
      );
    };
    let renewedAt = now;
    let renewal: NodeJS.Timeout | undefined = setInterval(() => {
      if (this.clock() - renewedAt >= this.lastsMs / 2) {
        lose('could not be renewed (the database did not answer)');
        return;
      }
      const asked = this.clock();
      uploads.renewAppend(id, token, asked + this.lastsMs).then(
        (held) =>
          held ? (renewedAt = Math.max(renewedAt, asked)) : lose('is held by another write'),
        () => undefined,
      );
    }, this.lastsMs / 3);
    renewal.unref();
    this.renewals += 1;
    const stop = () => {
      if (renewal === undefined) return;
      clearInterval(renewal);
      renewal = undefined;
      this.renewals -= 1;
    };
    return {
      upload,
      claim: {
        advance: async (size, held, hashState) => {
          stop();
          const storeRecord = upload.note?.record ?? null;
          if (!(await uploads.advance(id, size, held, hashState, token, storeRecord)))
            throw new BerthError(
              'RANGE_INVALID',
              `the claim on upload ${id} lapsed while writing to it; ask for its offset and go on from there`,
              { size: upload.size },
            );
        },
        release: async () => {
          stop();
          const storeRecord = upload.note?.record ?? null;
          await uploads.releaseAppend(id, token, storeRecord).catch(() => undefined);
        },
        ended: stop,
        lost: lost.signal,
      },
    };
  }

  /** How many claims this process is renewing now. */
  renewing(): number {
    return this.renewals;
  }
}

/**
 * Ends `body` with the claim's reason if `claim` is lost while the body is still being read (see
 * AppendClaim.lost): the store's write fails then instead of going on after another write may
 * have taken the upload over. A body read to its end is left alone (ending it would close the
 * connection). Returns the function that unbinds it, once the write is done.
 */
export function stopOnLoss(body: Readable, claim: Pick<AppendClaim, 'lost'>): () => void {
  const stop = (): void => {
    if (!body.readableEnded && !body.destroyed) body.destroy(claim.lost.reason as Error);
  };
  if (claim.lost.aborted) stop();
  else claim.lost.addEventListener('abort', stop, { once: true });
  return () => claim.lost.removeEventListener('abort', stop);
}

/**
 * Runs `read`, which reads `body` (if any) under `claim`, with the body ended should the claim be
 * lost meanwhile (`stopOnLoss`), and unbound once `read` settles.
 */
export async function readWhileClaimed<T>(
  claim: Pick<AppendClaim, 'lost'>,
  body: Readable | undefined,
  read: () => Promise<T>,
): Promise<T> {
  const unbind = body ? stopOnLoss(body, claim) : undefined;
  try {
    return await read();
  } finally {
    unbind?.();
  }
}
