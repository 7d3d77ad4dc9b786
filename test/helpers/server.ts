/** Spawning a real `berth serve` on 127.0.0.1 with its own data directory. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI entry of this checkout. */
export const BERTH_BIN = path.join(ROOT, 'bin', 'berth.js');

/** A running server. */
export interface SpawnedBerth {
  url: string;
  host: string;
  port: number;
  data: string;
  child: ChildProcess;
  log: () => string;
  /** Stops it gracefully (SIGTERM) and waits. */
  stop(): Promise<void>;
  /** Kills it with SIGKILL and waits. */
  kill(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Where the filesystem store of data directory `data` keeps blob `digest` (sha256), if in a file. */
export function blobFile(data: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(data, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
}

/** A fresh temporary directory. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `berth-${prefix}-`));
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts `berth serve` on `port` (0 for any free port) over `data`, resolving once it listens. */
export async function spawnBerth(
  options: {
    data?: string;
    port?: number;
    env?: NodeJS.ProcessEnv;
    /** `none` (the default here) or `token` with administrator password `adminPassword`. */
    auth?: 'none' | 'token';
    adminPassword?: string;
    /** More `berth serve` flags (`--tls-cert`, …). */
    args?: string[];
  } = {},
): Promise<SpawnedBerth> {
  const data = options.data ?? tempDir('data');
  const args = [
    'serve',
    '--data',
    data,
    '--listen',
    `127.0.0.1:${options.port ?? 0}`,
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, [BERTH_BIN, ...args, '--auth', options.auth ?? 'none'], {
    env: {
      ...process.env,
      BERTH_LOG_LEVEL: 'warn',
      BERTH_ADMIN_PASSWORD: options.adminPassword ?? 'test-admin-password',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth did not start:\n${output}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /serving the registry on (https?:\/\/[\d.]+:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth exited with ${code}:\n${output}`));
    });
  });
  const { hostname, port } = new URL(url);
  return {
    url,
    host: `${hostname}:${port}`,
    port: Number(port),
    data,
    child,
    log: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}

/** Removes a directory tree, ignoring errors. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
