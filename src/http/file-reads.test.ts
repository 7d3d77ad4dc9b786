/**
 * Sending a blob file the page cache does not hold (as an upload written around it leaves it):
 * read around the cache the first time, through it the second; the cache's contents read with
 * cachestat(2) through the direct I/O addon.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { alignedBuffer, BufferPool, directIoAddon, pagesCached } from '../kit/index.js';
import { ColdFiles } from './file-reads.js';
import { openForSending, sendFileRange } from './file-sender.js';

const MiB = 1 << 20;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Pages of `file` the page cache holds. */
function cachedPages(file: string): number {
  const pages = pagesCached(file);
  assert.ok(pages !== undefined, 'cachestat(2) is not available');
  return pages;
}

/** Writes `bytes` to a new `file` as an upload is: whole blocks around the cache, the rest through it. */
function writeAroundCache(file: string, bytes: Buffer): void {
  const whole = bytes.length - (bytes.length % 4096);
  const staging = alignedBuffer(whole)!;
  bytes.copy(staging, 0, 0, whole);
  const direct = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o600);
  writeSync(direct, staging, 0, whole, 0);
  closeSync(direct);
  const buffered = openSync(file, 'r+');
  writeSync(buffered, bytes, whole, bytes.length - whole, whole);
  fsyncSync(buffered);
  closeSync(buffered);
}

/** Skips (failing under CI) when the direct I/O addon is not built; true when it skipped. */
function skippedWithoutAddon(t: TestContext): boolean {
  if (directIoAddon()) return false;
  assert.ok(!process.env.CI, 'the direct I/O addon is not built (npm ci runs node-gyp)');
  t.skip('the direct I/O addon (build/Release/direct_io.node) is not built');
  return true;
}

describe('reads of blob files the page cache does not hold', () => {
  it('sends a cold file read around the cache the first time, through it the second', async (t) => {
    if (skippedWithoutAddon(t)) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cold-reads-'));
    const bytes = randomBytes(6 * MiB + 999);
    // Written around the cache, as an upload is: no page of it cached.
    const blob = path.join(dir, 'blob');
    writeAroundCache(blob, bytes);
    const cold = new ColdFiles();
    const pool = new BufferPool(256 * 1024, 4);
    const server = createServer((req, res) => {
      const [from, to] = (req.url ?? '').slice(1).split('-').map(Number);
      void openForSending(blob).then(async (handle) => {
        res.writeHead(200);
        await sendFileRange(res, handle!, from!, to!, { pool, file: blob, cold });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const fetchRange = async (from: number, to: number): Promise<Buffer> =>
      Buffer.from(await (await fetch(`${url}/${from}-${to}`)).arrayBuffer());
    try {
      assert.ok(cachedPages(blob) <= 2);
      // From an unaligned offset: read from the block holding it, sent from the byte asked.
      const first = await fetchRange(4097, bytes.length - 1);
      assert.equal(sha(first), sha(bytes.subarray(4097)));
      assert.ok(cachedPages(blob) <= 2, `the first read left ${cachedPages(blob)} pages cached`);
      const second = await fetchRange(0, bytes.length - 1);
      assert.equal(sha(second), sha(bytes));
      assert.ok(cachedPages(blob) >= 1500, `the second read cached ${cachedPages(blob)} pages`);
      const third = await fetchRange(10, 300_000);
      assert.equal(sha(third), sha(bytes.subarray(10, 300_001)));
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A response whose writes are taken only when the test says: a client that does not read yet. */
class HeldResponse extends EventEmitter {
  readonly sent: Buffer[] = [];
  private readonly waiting: (() => void)[] = [];
  ended = false;

  write(bytes: Buffer, taken: () => void): boolean {
    this.sent.push(Buffer.from(bytes));
    this.waiting.push(taken);
    return false;
  }

  end(): void {
    this.ended = true;
  }

  /** Lets the socket take every write so far. */
  drain(): void {
    this.waiting.splice(0).forEach((taken) => taken());
  }
}

/** A pool that notes the most buffers lent out at once. */
class PeakPool extends BufferPool {
  private out = 0;
  peak = 0;

  override take(): Buffer {
    this.out += 1;
    this.peak = Math.max(this.peak, this.out);
    return super.take();
  }

  override give(buffer: Buffer): void {
    this.out -= 1;
    super.give(buffer);
  }
}

describe('several cold files sent at once', () => {
  it('holds one cold-read buffer a response while others read cold, two when alone', async (t) => {
    if (skippedWithoutAddon(t)) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cold-senders-'));
    try {
      const blobs = Array.from({ length: 6 }, (_, i) => {
        const bytes = randomBytes(3 * MiB + i);
        const file = path.join(dir, `blob${i}`);
        writeAroundCache(file, bytes);
        return { file, bytes };
      });
      const coldPool = new PeakPool(MiB, 4);
      const pool = new BufferPool(256 * 1024, 4);
      const cold = new ColdFiles();
      const responses = blobs.map(() => new HeldResponse());
      const sends = blobs.map(async ({ file, bytes }, i) => {
        const handle = (await openForSending(file))!;
        const res = responses[i] as unknown as ServerResponse;
        return sendFileRange(res, handle, 0, bytes.length - 1, {
          pool,
          coldPool,
          file,
          cold,
          zeroCopy: false,
        });
      });
      // Every response has written its first cold megabyte and waits for the client.
      while (responses.some((r) => r.sent.length === 0)) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(coldPool.peak, 6, 'a response took a second cold buffer while others read cold');
      // The clients read, one after another: the last alone takes two at a time again.
      for (const res of responses) {
        while (!res.ended) {
          res.drain();
          await new Promise((r) => setImmediate(r));
        }
      }
      assert.deepEqual(
        await Promise.all(sends),
        blobs.map((b) => b.bytes.length),
      );
      responses.forEach((res, i) =>
        assert.equal(sha(Buffer.concat(res.sent)), sha(blobs[i]!.bytes)),
      );
      assert.equal(coldPool.peak, 6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
