import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer,
  get,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, get as getHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { makeSelfSignedCertificate } from '../cli/index.js';
import { BufferPool, pagesCached } from '../kit/index.js';
import { openForSending, sendFileRange } from './file-sender.js';
import { zeroCopyAvailable, zeroCopyBytes, zeroCopyTo } from './zero-copy.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Reads a response whole; `pause` (if given) stops reading for a while after each chunk. */
function readAll(res: IncomingMessage, pause?: () => Promise<void>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (pause) {
        res.pause();
        void pause().then(() => res.resume());
      }
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

/** Waits for `done()`, for at most a minute (a condition, however slow the machine). */
async function until(done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 60_000; !done() && Date.now() < deadline;)
    await new Promise((resolve) => setTimeout(resolve, 5));
}

function skipWithoutAddon(t: TestContext): boolean {
  if (zeroCopyAvailable()) return false;
  assert.ok(!process.env.CI, 'the send-file addon is not built (npm ci runs node-gyp)');
  t.skip('the send-file addon (build/Release/send_file.node) is not built');
  return true;
}

describe('zero-copy sends of cached blob bytes', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zero-copy-'));
  const bytes = randomBytes(24 * MiB + 4321);
  const file = path.join(dir, 'blob');
  const pool = new BufferPool(256 * 1024, 4);
  let sends = 0;
  let ended = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const [from, to] = (req.url ?? '').slice(1).split('-').map(Number);
    sends += 1;
    void openForSending(file).then(async (handle) => {
      res.writeHead(200, { 'Content-Length': String(to! - from! + 1) });
      await sendFileRange(res, handle!, from!, to!, { pool, file });
      ended += 1;
    });
  };
  let server: Server;
  let port = 0;

  before(async () => {
    writeFileSync(file, bytes); // through the page cache: every page cached
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const download = (from: number, to: number, pause?: () => Promise<void>): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      get(`http://127.0.0.1:${port}/${from}-${to}`, (res) => {
        readAll(res, pause).then(resolve, reject);
      }).on('error', reject);
    });

  it('sends cached bytes exactly, from odd offsets, without copying them', async (t) => {
    if (skipWithoutAddon(t)) return;
    assert.equal(pagesCached(file), Math.ceil(bytes.length / 4096), 'the file is cached');
    for (const [from, to] of [
      [0, bytes.length - 1],
      [4097, bytes.length - 2],
      [3 * MiB + 1, 17 * MiB + 3],
    ] as const) {
      const before = zeroCopyBytes();
      const body = await download(from, to);
      assert.equal(sha(body), sha(bytes.subarray(from, to + 1)), `bytes ${from}-${to}`);
      // The first buffer carries the headers; later copies are small writes that wait for a
      // full socket to drain. Most of the bytes must have gone zero-copy.
      const zeroCopied = zeroCopyBytes() - before;
      assert.ok(zeroCopied >= (to - from + 1) / 2, `${zeroCopied} of ${to - from + 1} zero-copy`);
    }
    await until(() => ended === sends);
    const { made, kept } = pool.counts();
    assert.equal(kept, made, 'every buffer is back in the pool');
  });

  it('stays exact for a client that keeps stopping, and for parallel ones', async (t) => {
    if (skipWithoutAddon(t)) return;
    // Pauses make the socket fill up again and again: sends stop at a full socket and go on
    // once it drains.
    let pauses = 0;
    const slow = download(0, 8 * MiB - 1, async () => {
      if (pauses++ % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    });
    const parallel = Array.from({ length: 4 }, (_, i) => download(i * 1000, bytes.length - 1));
    assert.equal(sha(await slow), sha(bytes.subarray(0, 8 * MiB)));
    const bodies = await Promise.all(parallel);
    bodies.forEach((body, i) => assert.equal(sha(body), sha(bytes.subarray(i * 1000))));
  });

  it('ends the send of a client that goes away or stops reading for good', async (t) => {
    if (skipWithoutAddon(t)) return;
    const before = ended;
    // One leaves after its first chunk.
    await new Promise<void>((resolve) => {
      const req = get(`http://127.0.0.1:${port}/0-${bytes.length - 1}`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
    });
    // One stops reading: the connection's idle timeout (as Berth sets it) cuts it off.
    server.timeout = 300;
    try {
      await new Promise<void>((resolve) => {
        get(`http://127.0.0.1:${port}/0-${bytes.length - 1}`, (res) => {
          res.once('data', () => {
            res.pause();
            resolve();
          });
        });
      });
      await until(() => ended === before + 2);
    } finally {
      server.timeout = 0;
    }
    assert.equal(ended, before + 2, 'both sends ended');
    // A buffer whose write never reports back (the connection was destroyed) is dropped.
    const { made, kept } = pool.counts();
    assert.ok(kept <= made);
  });

  it('never sends to a descriptor its connection no longer holds', async (t) => {
    if (skipWithoutAddon(t)) return;
    // A connection destroyed mid-send closes its descriptor at once; its 'close' events come
    // later. A descriptor number is reused by the next open (here a file; in a server, the next
    // connection accepted): a send through the number the connection had would hand the blob's
    // bytes to whoever holds it now — another client, or a TLS connection as plain bytes.
    const trap = path.join(dir, 'trap');
    const result = await new Promise<{ sent: unknown; reused: boolean }>((resolve, reject) => {
      const own = createServer((_req, res) => {
        res.writeHead(200, { 'Content-Length': String(bytes.length) });
        res.write(bytes.subarray(0, 1024), () => {
          const direct = zeroCopyTo(res);
          if (!direct) return reject(new Error('no zero-copy sends to a plain connection'));
          const fd = (res.socket as unknown as { _handle: { fd: number } })._handle.fd;
          res.socket!.destroy();
          // The lowest free number first: open until the connection's old number comes back.
          const opened: number[] = [];
          for (let i = 0; i < 1000 && !opened.includes(fd); i += 1)
            opened.push(openSync(trap, 'w'));
          const source = openSync(file, 'r');
          try {
            resolve({ sent: direct.send(source, 0, 64 * 1024), reused: opened.includes(fd) });
          } finally {
            closeSync(source);
            opened.forEach((o) => closeSync(o));
          }
        });
      });
      own.listen(0, '127.0.0.1', () => {
        const { port: ownPort } = own.address() as AddressInfo;
        get(`http://127.0.0.1:${ownPort}/`, (res) => res.resume()).on('error', () => undefined);
      });
      own.unref();
    });
    assert.ok(result.reused, 'the old descriptor number was taken again');
    assert.equal(readFileSync(trap).length, 0, 'no byte went to the descriptor');
    assert.equal(result.sent, 'closed');
  });

  it('copies over TLS (the kernel would send the bytes unencrypted)', async (t) => {
    if (skipWithoutAddon(t)) return;
    const pem = await makeSelfSignedCertificate(['127.0.0.1'], 1);
    const tls = createHttpsServer({ cert: pem.cert, key: pem.key }, handler);
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const before = zeroCopyBytes();
      const body = await new Promise<Buffer>((resolve, reject) => {
        const { port: tlsPort } = tls.address() as AddressInfo;
        getHttps(`https://127.0.0.1:${tlsPort}/5-${4 * MiB}`, { ca: pem.cert }, (res) => {
          readAll(res).then(resolve, reject);
        }).on('error', reject);
      });
      assert.equal(sha(body), sha(bytes.subarray(5, 4 * MiB + 1)));
      assert.equal(zeroCopyBytes(), before, 'nothing went zero-copy');
    } finally {
      tls.close();
    }
  });
});
