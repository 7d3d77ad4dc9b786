/** The limits of the machine, measured in the same run: hashing, loopback TCP and disk writes. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, fsyncSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Figures } from './workloads.js';

const MiB = 1024 * 1024;

function sha256Throughput(bytes: number): number {
  const chunk = randomBytes(MiB);
  const start = performance.now();
  const hash = createHash('sha256');
  for (let done = 0; done < bytes; done += MiB) hash.update(chunk);
  hash.digest();
  return bytes / MiB / ((performance.now() - start) / 1000);
}

function loopbackThroughput(bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = randomBytes(MiB);
    let received = 0;
    let start = 0;
    const server = net.createServer((socket) => {
      socket.on('data', (d) => {
        received += d.length;
        if (received >= bytes) {
          const seconds = (performance.now() - start) / 1000;
          socket.destroy();
          server.close();
          resolve(bytes / MiB / seconds);
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      const client = net.connect(port, '127.0.0.1', () => {
        start = performance.now();
        let sent = 0;
        const pump = (): void => {
          while (sent < bytes) {
            sent += MiB;
            if (!client.write(chunk)) return void client.once('drain', pump);
          }
          client.end();
        };
        pump();
      });
      client.on('error', () => undefined);
    });
    server.on('error', reject);
  });
}

function diskWriteThroughput(bytes: number): number {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-disk-'));
  const chunk = randomBytes(MiB);
  const start = performance.now();
  const fd = openSync(path.join(dir, 'probe'), 'w');
  for (let done = 0; done < bytes; done += MiB) writeSync(fd, chunk);
  fsyncSync(fd);
  closeSync(fd);
  const seconds = (performance.now() - start) / 1000;
  rmSync(dir, { recursive: true, force: true });
  return bytes / MiB / seconds;
}

/** sha256, loopback TCP and disk write (with fsync) throughput, MiB/s. */
export async function machineLimits(bytes: number): Promise<Figures> {
  return {
    'machine sha256 MiB/s': sha256Throughput(bytes),
    'machine loopback TCP MiB/s': await loopbackThroughput(bytes * 4),
    'machine disk write+fsync MiB/s': diskWriteThroughput(bytes),
  };
}
