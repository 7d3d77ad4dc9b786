/**
 * Direct I/O on the filesystem store: uploads are written around the page cache (`O_DIRECT`) in
 * aligned blocks, byte-exact whatever the chunks' sizes and offsets, with the partial blocks
 * through the cache; a kernel refusing a direct write makes the sink fall back, not fail (the
 * reads: src/http/file-reads.test.ts). The page cache's contents are read with cachestat(2) (Linux 6.5+), through the same addon.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { constants, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it, type TestContext } from 'node:test';
import { alignedBuffer, BufferPool, directIoAddon, pagesCached } from '../../src/kit/index.js';
import { directFileSink, FsContentStore, type DirectFileHandles } from '../../src/storage/index.js';
import { skippedWithoutAddons } from '../helpers/addons.js';
import { removeDir, tempDir } from '../helpers/server.js';

const MiB = 1 << 20;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The addon, or a skip (outside CI) with the reason; in CI a missing addon fails. */
function addonOrSkip(t: TestContext): ReturnType<typeof directIoAddon> {
  const addon = directIoAddon();
  skippedWithoutAddons(t, { direct_io: addon !== undefined });
  return addon;
}

/** Pages of `file` the page cache holds. */
function cachedPages(file: string): number {
  const pages = pagesCached(file);
  assert.ok(pages !== undefined, 'cachestat(2) is not available');
  return pages;
}

/** `bytes` as a stream of chunks of odd sizes (1 byte to 300 KiB). */
function oddChunks(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i += 1) {
    const size = [1, 4095, 65_537, 300_000, 4096, 777][i % 6]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return Readable.from(chunks);
}

/** Runs `work` with `file` opened as an upload's sink opens it (with and without `O_DIRECT`). */
async function withHandles<T>(
  file: string,
  work: (files: DirectFileHandles) => Promise<T>,
): Promise<T> {
  const buffered = await open(file, 'r+');
  const direct = await open(file, constants.O_WRONLY | constants.O_DIRECT);
  try {
    return await work({ direct, buffered });
  } finally {
    await Promise.all([buffered.close(), direct.close()]);
  }
}

describe('direct I/O', () => {
  it('hands out aligned buffers', (t) => {
    const addon = addonOrSkip(t);
    if (!addon) return;
    for (const size of [4096, MiB, 3 * 4096]) {
      const buffer = alignedBuffer(size)!;
      assert.equal(buffer.byteLength, size);
      assert.equal(addon.misalignment(buffer, 4096), 0);
    }
    assert.notEqual(addon.misalignment(alignedBuffer(MiB)!.subarray(16), 4096), 0);
  });

  it('syncs behind its writes every 8 MiB without waiting, and is settled only after those syncs', async (t) => {
    if (!addonOrSkip(t)) return;
    const dir = tempDir('direct-behind');
    try {
      const file = path.join(dir, 'upload');
      writeFileSync(file, '');
      const bytes = randomBytes(20 * MiB);
      await withHandles(file, async (files) => {
        // The first background sync is held until released: the writes must not wait for it.
        let syncs = 0;
        let release = (): void => undefined;
        const held = new Promise<void>((resolve) => (release = resolve));
        const datasync = files.direct.datasync.bind(files.direct);
        files.direct.datasync = async () => {
          syncs += 1;
          await held;
          return datasync();
        };
        const sink = directFileSink(files, 0, new BufferPool(MiB, 4));
        await pipeline(Readable.from([bytes]), sink.stream);
        // The 8 MiB mark started one; the 16 MiB mark fell while it ran and was left.
        assert.equal(syncs, 1);
        let settled = false;
        const settling = sink.settled().then(() => void (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(settled, false, 'settled while a background sync still runs');
        release();
        await settling;
        assert.ok(readFileSync(file).equals(bytes));
      });
      await withHandles(file, async (files) => {
        const failure = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        files.direct.datasync = () => Promise.reject(failure);
        const sink = directFileSink(files, 0, new BufferPool(MiB, 4));
        await pipeline(Readable.from([bytes]), sink.stream);
        await assert.rejects(sink.settled(), /EIO/);
      });
    } finally {
      removeDir(dir);
    }
  });

  it('writes byte-exact around the page cache at aligned and unaligned offsets', async (t) => {
    if (!addonOrSkip(t)) return;
    const dir = tempDir('direct-sink');
    try {
      const file = path.join(dir, 'upload');
      const bytes = randomBytes(9 * MiB + 12_345);
      writeFileSync(file, '');
      // Three appends ending at unaligned offsets, as chunked uploads of any size make.
      const cuts = [0, 3 * MiB + 1001, 6 * MiB + 77, bytes.length];
      for (let i = 0; i + 1 < cuts.length; i += 1) {
        await withHandles(file, async (files) => {
          const sink = directFileSink(files, cuts[i]!, new BufferPool(MiB, 4));
          await pipeline(oddChunks(bytes.subarray(cuts[i], cuts[i + 1])), sink.stream);
          await sink.settled();
        });
      }
      const written = readFileSync(file);
      assert.equal(written.length, bytes.length);
      assert.equal(sha(written), sha(bytes));
    } finally {
      removeDir(dir);
    }
  });

  it('falls back to the page cache when the kernel refuses a direct write', async (t) => {
    if (!addonOrSkip(t)) return;
    const dir = tempDir('direct-fallback');
    try {
      const file = path.join(dir, 'upload');
      writeFileSync(file, '');
      // Buffers 16 bytes past a block boundary: the kernel answers EINVAL to the direct write.
      class Misaligned extends BufferPool {
        override take(): Buffer {
          return alignedBuffer(this.size + 4096)!.subarray(16, 16 + this.size);
        }
      }
      const bytes = randomBytes(3 * MiB + 5);
      let refused = 0;
      await withHandles(file, async (files) => {
        const sink = directFileSink(files, 0, new Misaligned(MiB, 4), () => {
          refused += 1;
        });
        await pipeline(oddChunks(bytes), sink.stream);
        await sink.settled();
      });
      assert.equal(refused, 1);
      assert.equal(sha(readFileSync(file)), sha(bytes));
    } finally {
      removeDir(dir);
    }
  });

  it('gives no buffer back twice when an upload is cut short mid-write', async (t) => {
    if (!addonOrSkip(t)) return;
    const dir = tempDir('direct-cut');
    // Counts buffers handed back while still in the pool's hands: one there twice would be
    // given to two uploads at once.
    class Counting extends BufferPool {
      readonly out = new Set<Buffer>();
      twice = 0;
      override take(): Buffer {
        const buffer = super.take();
        this.out.add(buffer);
        return buffer;
      }
      override give(buffer: Buffer): void {
        if (!this.out.delete(buffer)) this.twice += 1;
        super.give(buffer);
      }
    }
    const pool = new Counting(256 * 1024, 64);
    try {
      for (let round = 0; round < 40; round += 1) {
        const file = path.join(dir, `upload${round}`);
        writeFileSync(file, '');
        // A body that breaks off after a few buffers' worth, at a different point each round:
        // at once (while the sink may still be writing) in even rounds, in odd ones only after
        // the sink took every byte (a partly filled buffer then waits in it).
        const cut = 256 * 1024 * (2 + (round % 3)) + round * 4099;
        await withHandles(file, async (files) => {
          const sink = directFileSink(files, 0, pool);
          async function* body(): AsyncGenerator<Buffer> {
            for (let sent = 0; sent < cut; sent += 65_536) yield randomBytes(65_536);
            if (round % 2 === 1)
              while (sink.stream.writableLength > 0) await new Promise((r) => setImmediate(r));
            throw new Error('client went away');
          }
          await assert.rejects(pipeline(Readable.from(body()), sink.stream), /went away|cut short/);
          await sink.settled().catch(() => undefined);
        });
      }
      assert.equal(pool.twice, 0, `${pool.twice} buffers were given back twice`);
      assert.equal(pool.out.size, 0, `${pool.out.size} buffers never came back`);
    } finally {
      removeDir(dir);
    }
  });

  it('leaves an upload out of the page cache, and its blob exact and durable', async (t) => {
    if (!addonOrSkip(t)) return;
    const dir = tempDir('direct-store');
    try {
      const stored = async (directWrites: boolean): Promise<number> => {
        const store = new FsContentStore(path.join(dir, String(directWrites)), { directWrites });
        assert.equal(store.writesDirectly, directWrites);
        const bytes = randomBytes(8 * MiB + 3);
        const digest = `sha256:${sha(bytes)}`;
        const id = randomUUID();
        await store.createUpload(id);
        let size = 0;
        for (const part of [bytes.subarray(0, 5 * MiB + 1), bytes.subarray(5 * MiB + 1)])
          size = await store.appendUpload(id, size, oddChunks(part), () => undefined);
        await store.commitUpload(id, digest);
        await store.releaseUpload(id);
        const blob = store.localBlobFile(digest);
        assert.equal(sha(readFileSync(blob)), sha(bytes));
        // Read back above: reading fills the cache, so count what the writes alone left.
        return size;
      };
      // The counts are taken right after the writes, before any read.
      const countAfterWrites = async (directWrites: boolean): Promise<number> => {
        const store = new FsContentStore(path.join(dir, `c${directWrites}`), { directWrites });
        const bytes = randomBytes(8 * MiB + 3);
        const id = randomUUID();
        await store.createUpload(id);
        await store.appendUpload(id, 0, oddChunks(bytes), () => undefined);
        await store.commitUpload(id, `sha256:${sha(bytes)}`);
        return cachedPages(store.localBlobFile(`sha256:${sha(bytes)}`));
      };
      assert.equal(await stored(true), 8 * MiB + 3);
      assert.equal(await stored(false), 8 * MiB + 3);
      const direct = await countAfterWrites(true);
      const through = await countAfterWrites(false);
      // 2,049 pages: around the cache only the last partial block stays; through it, all.
      assert.ok(direct <= 2, `direct writes left ${direct} pages cached`);
      assert.ok(through >= 2000, `buffered writes left only ${through} pages cached`);
      // A chunk announced under 1 MiB goes through the cache even with direct writes on.
      const store = new FsContentStore(path.join(dir, 'small'), { directWrites: true });
      const small = randomBytes(200_000);
      const id = randomUUID();
      await store.createUpload(id);
      await store.appendUpload(id, 0, oddChunks(small), () => undefined, small.length);
      await store.commitUpload(id, `sha256:${sha(small)}`);
      const blob = store.localBlobFile(`sha256:${sha(small)}`);
      assert.ok(cachedPages(blob) >= 48, `a small chunk left ${cachedPages(blob)} pages cached`);
      assert.equal(sha(readFileSync(blob)), sha(small));
    } finally {
      removeDir(dir);
    }
  });
});
