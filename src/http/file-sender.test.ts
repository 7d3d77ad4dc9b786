import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BufferPool } from '../kit/index.js';
import { openForSending, sendFileRange } from './file-sender.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('sending blob files through pooled buffers', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'file-sender-'));
  // Small buffers, so a file crosses many of them and reuse across requests is exercised.
  const pool = new BufferPool(64 * 1024, 8);
  const files = [0, 1, 2, 3].map((i) => {
    const bytes = randomBytes(700_000 + i * 12_345);
    const file = path.join(dir, `f${i}`);
    writeFileSync(file, bytes);
    return { file, bytes };
  });
  let server: Server;
  let port = 0;
  let finished = 0;

  before(async () => {
    server = createServer((req, res) => {
      const [, index, from, to] = /^\/(\d)\/(\d+)\/(\d+)$/.exec(req.url ?? '') ?? [];
      const { file } = files[Number(index)]!;
      void openForSending(file).then(async (handle) => {
        res.writeHead(200);
        await sendFileRange(res, handle!, Number(from), Number(to), { pool });
        finished += 1;
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fetchBytes = async (index: number, from: number, to: number): Promise<Buffer> => {
    const res = await fetch(`http://127.0.0.1:${port}/${index}/${from}/${to}`);
    return Buffer.from(await res.arrayBuffer());
  };

  it('sends exact bytes to parallel requests and gives every buffer back', async () => {
    const bodies = await Promise.all(files.map((f, i) => fetchBytes(i, 0, f.bytes.length - 1)));
    bodies.forEach((body, i) => assert.equal(sha(body), sha(files[i]!.bytes)));
    const ranged = await fetchBytes(2, 1000, 300_000);
    assert.equal(sha(ranged), sha(files[2]!.bytes.subarray(1000, 300_001)));
    const { made, kept } = pool.counts();
    // Two buffers per response at most, and all of them back in the pool (8 kept at most).
    assert.ok(made <= 2 * files.length, `made ${made}`);
    assert.equal(kept, Math.min(made, 8));
    // Reuse makes no new buffers.
    await fetchBytes(0, 0, files[0]!.bytes.length - 1);
    assert.equal(pool.counts().made, made);
  });

  it('keeps no buffer a closed connection may still hold, and later sends stay exact', async () => {
    const before = finished;
    // A client that reads a little and then goes away while the server still sends.
    await new Promise<void>((resolve) => {
      const req = get(`http://127.0.0.1:${port}/3/0/${files[3]!.bytes.length - 1}`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
    });
    // Waits for the send to end (its 'close' handling), however slow the machine.
    for (const deadline = Date.now() + 60_000; finished === before && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(finished, before + 1, 'the send ended after the client left');
    const { made, kept } = pool.counts();
    assert.ok(kept <= made);
    const bodies = await Promise.all(files.map((f, i) => fetchBytes(i, 0, f.bytes.length - 1)));
    bodies.forEach((body, i) => assert.equal(sha(body), sha(files[i]!.bytes)));
  });
});
