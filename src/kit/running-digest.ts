/**
 * Running digests of blobs as they stream in, hashed on libuv's thread pool (the `pooled_hash`
 * addon, `native/pooled-hash.c`) while the event loop reads the next bytes. Hashed on the loop's
 * own thread, the SHA-256 of an upload took 36% of Berth's CPU and bounded the upload rate with
 * the machine half idle (a build that skipped it uploaded at 1.5–1.9× the rate). Bytes are handed
 * to the pool in batches of at least `BATCH_BYTES`, one batch in flight per digest; a digest whose
 * backlog reaches `BACKLOG_BYTES` asks its feeder to wait, so it holds at most about twice that
 * (the batch on the pool and the backlog behind it). Small bodies never reach the pool: what is
 * pending at the end is hashed on the spot. Without the addon, Node's own hash on the loop's thread.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { nativeAddon } from './native-addon.js';
import { claimChunk, holdChunk, releaseChunk } from './chunk-release.js';

/** The algorithms of a running digest. */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** A digest taking bytes in order; its result is the lowercase hex digest of all of them. */
export interface RunningDigest {
  /**
   * Takes the next bytes, which must not change afterwards (they may be hashed later). A promise
   * when the digest's backlog is full: the caller waits for it before the next update.
   */
  update(bytes: Buffer): Promise<void> | undefined;
  /** A digest in this one's state once every update so far is hashed; this one goes on. */
  copy(): Promise<RunningDigest>;
  /** The hex digest of every byte taken; the digest takes nothing after it. */
  digest(): Promise<string>;
  /**
   * A SHA-256 digest's state once every update so far is hashed, which `resumedDigest` continues
   * in any process; undefined where states cannot be saved (Node's own hash, or SHA-512).
   */
  state(): Promise<Buffer | undefined>;
}

/** Bytes a digest hands to the pool at once. */
export const BATCH_BYTES = 1 << 20;
/** Bytes taken but not yet hashed past which `update` asks the caller to wait. */
export const BACKLOG_BYTES = 4 << 20;

interface NativeDigest {
  update(bytes: Buffer): void;
  updateLater(batch: Buffer[]): Promise<void>;
  copy(): NativeDigest;
  digest(): string;
  state(): Buffer;
}

interface PooledHashAddon {
  Digest: new (algorithm: DigestAlgorithm, state?: Buffer) => NativeDigest;
}

/** Where a saved state's count of bytes taken sits (after its tag and the eight hash words). */
const STATE_COUNT_AT = 8 + 8 * 4;

const pooledHashAddon = nativeAddon<PooledHashAddon>('pooled_hash');

/** Whether digests hash on the pool (the addon is built); else on the loop's thread. */
export function digestsOffLoop(): boolean {
  return pooledHashAddon() !== undefined;
}

/** A new running digest with `algorithm`: on the pool when the addon is built. */
export function runningDigest(algorithm: DigestAlgorithm = 'sha256'): RunningDigest {
  const addon = pooledHashAddon();
  return addon ? new PooledDigest(new addon.Digest(algorithm), algorithm) : loopDigest(algorithm);
}

/**
 * The SHA-256 digest a saved `state` describes and the number of bytes it has taken; undefined
 * when this process cannot resume it (no addon) or it is not a state `RunningDigest.state` made.
 */
export function resumedDigest(state: Buffer): { hash: RunningDigest; size: number } | undefined {
  const addon = pooledHashAddon();
  if (!addon || state.byteLength < STATE_COUNT_AT + 8) return undefined;
  try {
    const size = Number(state.readBigUInt64BE(STATE_COUNT_AT));
    return { hash: new PooledDigest(new addon.Digest('sha256', state)), size };
  } catch {
    return undefined;
  }
}

/** A running digest with Node's own hash, on the event loop's thread. */
export function loopDigest(algorithm: DigestAlgorithm = 'sha256'): RunningDigest {
  return new LoopDigest(createHash(algorithm));
}

/** Node's hash, on the event loop's thread. */
class LoopDigest implements RunningDigest {
  constructor(private readonly hash: Hash) {}

  update(bytes: Buffer): undefined {
    this.hash.update(bytes);
    return undefined;
  }

  copy(): Promise<RunningDigest> {
    return Promise.resolve(new LoopDigest(this.hash.copy()));
  }

  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'));
  }

  state(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}

/** The addon's digest: batches hashed on the pool in order, one at a time. */
class PooledDigest implements RunningDigest {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The batch on the pool now. */
  private hashing: Promise<void> | undefined;
  private failure: unknown;
  /** Waiting for the backlog to fall below `BACKLOG_BYTES`. */
  private roomWaiters: (() => void)[] = [];

  constructor(
    private readonly native: NativeDigest,
    private readonly algorithm: DigestAlgorithm = 'sha256',
  ) {}

  update(bytes: Buffer): Promise<void> | undefined {
    if (this.failure) {
      // Handled here too: a feeder that stops reading before waiting must not leave it unhandled.
      const failed = Promise.reject(this.failure);
      failed.catch(() => undefined);
      return failed;
    }
    if (bytes.byteLength === 0) return undefined;
    holdChunk(bytes);
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
    if (!this.hashing && this.pendingBytes >= BATCH_BYTES) this.startBatch();
    if (this.pendingBytes < BACKLOG_BYTES) return undefined;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  async copy(): Promise<RunningDigest> {
    await this.settle();
    return new PooledDigest(this.native.copy(), this.algorithm);
  }

  async digest(): Promise<string> {
    await this.settle();
    return this.native.digest();
  }

  async state(): Promise<Buffer | undefined> {
    await this.settle();
    return this.algorithm === 'sha256' ? this.native.state() : undefined;
  }

  /** Hands the pending bytes to the pool; the next batch starts when it is done. */
  private startBatch(): void {
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.wakeWaiters();
    this.hashing = this.native.updateLater(batch).then(
      () => {
        this.hashing = undefined;
        batch.forEach(releaseChunk);
        if (this.pendingBytes >= BATCH_BYTES) this.startBatch();
      },
      (err: unknown) => {
        this.hashing = undefined;
        batch.forEach(releaseChunk);
        this.failure = err;
        this.wakeWaiters();
      },
    );
  }

  private wakeWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Once every byte taken is hashed: the last batch's end, then the rest on the spot. */
  private async settle(): Promise<void> {
    while (this.hashing) await this.hashing;
    if (this.failure) throw this.failure;
    for (const bytes of this.pending) {
      this.native.update(bytes);
      releaseChunk(bytes);
    }
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/**
 * `body` as it passes into `digest`, read no faster than the digest keeps up. Each chunk for which
 * `freeable` says so is claimed to be freed once its consumers are done (chunk-release.ts).
 */
export function digesting(
  body: Readable,
  digest: RunningDigest,
  freeable?: (chunk: Buffer) => boolean,
): Readable {
  async function* passing(): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      if (freeable?.(bytes)) claimChunk(bytes);
      const backlog = digest.update(bytes);
      yield bytes;
      if (backlog) await backlog;
    }
  }
  return Readable.from(passing(), { objectMode: false });
}
