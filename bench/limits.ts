/**
 * The machine's own ceilings for the byte-moving workloads, measured in the same run as the
 * registries: the durable sequential write rate of the disk the data directories live on (the
 * blob's size written and fsynced, as `dd … conv=fsync` would; and written around the page cache,
 * as `dd … oflag=direct conv=fsync` would), and what the page cache can
 * deliver over loopback to the benchmark's own download client, from nginx serving the same blob
 * as a static file with `sendfile`; and for uploads, the same client `PUT`ting the blob to nginx
 * over loopback, the file fsynced once nginx answers.
 */
import {
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { downloadVerified, request } from './http-client.js';
import { startPutNginx, startStaticNginx } from '../test/helpers/nginx.js';
import { median, type BigBlob, type Figures } from './workloads.js';
import { alignedBuffer } from '../src/kit/index.js';

const MiB = 1024 * 1024;

/** Writes `bytes` to a new file in the temporary directory and fsyncs it; MiB/s. */
export function durableWriteRate(bytes: Buffer): number {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-dd-'));
  try {
    const start = performance.now();
    const fd = openSync(path.join(dir, 'probe'), 'w');
    for (let at = 0; at < bytes.length; at += 8 * MiB)
      writeSync(fd, bytes, at, Math.min(8 * MiB, bytes.length - at));
    fsyncSync(fd);
    closeSync(fd);
    return bytes.length / MiB / ((performance.now() - start) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same write around the page cache: `bytes` copied through an aligned 1 MiB buffer into a new
 * file opened with `O_DIRECT` (as Berth's filesystem store writes uploads), then fsynced; MiB/s.
 * Undefined where direct I/O is unavailable (no addon, a filesystem refusing it).
 */
export function directWriteRate(bytes: Buffer): number | undefined {
  const staging = alignedBuffer(MiB);
  if (!staging) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-dd-'));
  try {
    const start = performance.now();
    const fd = openSync(
      path.join(dir, 'probe'),
      constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT,
      0o600,
    );
    for (let at = 0; at + MiB <= bytes.length; at += MiB) {
      bytes.copy(staging, 0, at, at + MiB);
      writeSync(fd, staging, 0, MiB, at);
    }
    fsyncSync(fd);
    closeSync(fd);
    return bytes.length / MiB / ((performance.now() - start) / 1000);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The download client's ceiling: the same 1- and 8-stream downloads (digest verified) as the
 * registries get, from nginx serving the blob from the page cache.
 */
export async function staticDownloadRates(big: BigBlob): Promise<Figures> {
  const blob = big.variant(999);
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-static-root-'));
  const folder = path.join(root, 'v2', 'bench', 'down', 'blobs');
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, blob.digest), blob.bytes);
  const server = await startStaticNginx(root);
  try {
    // A first read brings the file into the page cache, as a registry's first download would.
    await downloadVerified(server.url, 'bench/down', blob.digest);
    const one = performance.now();
    await downloadVerified(server.url, 'bench/down', blob.digest);
    const oneSeconds = (performance.now() - one) / 1000;
    const eight = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, () => downloadVerified(server.url, 'bench/down', blob.digest)),
    );
    const eightSeconds = (performance.now() - eight) / 1000;
    return {
      'download 1 stream MiB/s': blob.bytes.length / MiB / oneSeconds,
      'download 8 streams MiB/s': (8 * blob.bytes.length) / MiB / eightSeconds,
    };
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The upload client's ceiling with the disk: the same client sends the blob over loopback in one
 * `PUT` to nginx (its body written to a file through the page cache), and the file is fsynced once
 * nginx answers; `rounds` times (a `sync` before each), the median in MiB/s.
 */
export async function staticUploadRate(big: BigBlob, rounds: number): Promise<number> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-put-root-'));
  const server = await startPutNginx(root);
  try {
    const rates: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const blob = big.variant(900 + round);
      spawnSync('sync');
      const start = performance.now();
      const response = await request(`${server.url}/blob${round}`, 'PUT', blob.bytes);
      if (response.status !== 201) throw new Error(`nginx answered a PUT with ${response.status}`);
      const fd = openSync(path.join(root, `blob${round}`), 'r');
      fsyncSync(fd);
      closeSync(fd);
      rates.push(blob.bytes.length / MiB / ((performance.now() - start) / 1000));
      rmSync(path.join(root, `blob${round}`));
    }
    return median(rates);
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
