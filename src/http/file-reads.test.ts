/**
 * Sending a blob file the page cache does not hold (as an upload written around it leaves it):
 * read around the cache the first time, through it the second; the cache's contents read with
 * cachestat(2) through the direct I/O addon.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
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

describe('reads of blob files the page cache does not hold', () => {
  it('sends a cold file read around the cache the first time, through it the second', async (t) => {
    if (!directIoAddon()) {
      assert.ok(!process.env.CI, 'the direct I/O addon is not built (npm ci runs node-gyp)');
      return t.skip('the direct I/O addon (build/Release/direct_io.node) is not built');
    }
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
