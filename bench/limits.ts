/**
 * The machine's own ceilings for the byte-moving workloads, measured in the same run as the
 * registries: the durable sequential write rate of the disk the data directories live on (the
 * blob's size written and fsynced, as `dd … conv=fsync` would), and what the page cache can
 * deliver over loopback to the benchmark's own download client, from nginx serving the same blob
 * as a static file with `sendfile`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { downloadVerified } from './http-client.js';
import { freePort } from './servers.js';
import type { BigBlob, Figures } from './workloads.js';

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

/** nginx serving `root` as static files (sendfile on) on 127.0.0.1. */
async function startStaticServer(root: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-static-'));
  const port = await freePort();
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; root ${root}; default_type application/octet-stream; }
}
`,
  );
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], {
    stdio: 'ignore',
  });
  for (let i = 0; ; i += 1) {
    if (child.exitCode !== null || i === 200) throw new Error('nginx (static) did not start');
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
  const server = await startStaticServer(root);
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
