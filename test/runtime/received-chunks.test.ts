import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { describe, it } from 'node:test';

// A child Node serving one upload the way Berth receives a blob (each chunk hashed, then done
// with), with or without `noteReceived` after each chunk; it answers with the most memory the
// received chunks' buffers held at once (`arrayBuffers`, sampled at every chunk).
const SERVER = `
const http = require('node:http');
const { createHash } = require('node:crypto');
const mode = process.argv[1];
const kit = mode === 'reclaim' ? require(process.argv[2]) : undefined;
const server = http.createServer((req, res) => {
  const hash = createHash('sha256');
  let most = 0;
  req.on('data', (chunk) => {
    hash.update(chunk);
    kit?.noteReceived(chunk.byteLength);
    most = Math.max(most, process.memoryUsage().arrayBuffers);
  });
  req.on('end', () => res.end(JSON.stringify({ most, digest: hash.digest('hex') })));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

const BODY = Buffer.alloc(128 << 20, 7);

async function mostHeld(mode: 'free' | 'reclaim'): Promise<number> {
  const kit = new URL('../../src/kit/received-chunks.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', SERVER, mode, kit], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const port = Number(line.toString().trim());
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'PUT' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(BODY);
    });
    const { most, digest } = JSON.parse(answer) as { most: number; digest: string };
    assert.equal(digest, createHash('sha256').update(BODY).digest('hex'));
    return most;
  } finally {
    child.kill();
  }
}

describe('received request-body chunks', () => {
  it("are freed every few MiB instead of piling up until V8's next collection", async () => {
    const free = await mostHeld('free');
    const reclaimed = await mostHeld('reclaim');
    assert.ok(free >= 20 << 20, `without reclaiming, dead chunks held ${free} bytes at most`);
    // RECLAIM_EVERY (8 MiB) and the chunks still in flight.
    assert.ok(reclaimed <= 14 << 20, `reclaiming, dead chunks held ${reclaimed} bytes at most`);
  });
});
