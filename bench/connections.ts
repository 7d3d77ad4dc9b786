/**
 * A thousand keep-alive clients at once against Berth and the reference registry in the same run:
 * every client opens its connection in the same instant and asks for a manifest in a loop for the
 * duration. Reports requests answered, requests left unanswered after 10 s (timeouts), p50/p99,
 * and the ratios. `--clients N` and `--seconds S` change the load.
 */
import net from 'node:net';
import { putManifest, uploadMonolithic } from './http-client.js';
import { takeResponse } from './load.js';
import { startBerth, startReference, type RegistryUnderTest } from './servers.js';
import { createHash, randomBytes } from 'node:crypto';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const CLIENTS = arg('clients', 1000);
const SECONDS = arg('seconds', 20);
const TIMEOUT_MS = 10_000;

interface Result {
  answered: number;
  timeouts: number;
  errors: number;
  p50: number;
  p99: number;
}

async function seed(reg: RegistryUnderTest): Promise<string> {
  const config = Buffer.from(
    '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}',
  );
  const layer = randomBytes(1024);
  const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  await uploadMonolithic(reg.url, 'bench/conn', config, digest(config), {});
  await uploadMonolithic(reg.url, 'bench/conn', layer, digest(layer), {});
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: digest(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: digest(layer),
          size: layer.length,
        },
      ],
    }),
  );
  await putManifest(
    reg.url,
    'bench/conn',
    'v1',
    manifest,
    'application/vnd.oci.image.manifest.v1+json',
    {},
  );
  return '/v2/bench/conn/manifests/v1';
}

function hammer(reg: RegistryUnderTest, path: string): Promise<Result> {
  const [host, port] = [reg.host.split(':')[0]!, Number(reg.host.split(':')[1])];
  const request = Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${reg.host}\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n\r\n`,
  );
  const latencies: number[] = [];
  let timeouts = 0;
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const client = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect(port, host);
      let buffer: Buffer = Buffer.alloc(0);
      let sentAt = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      const send = (): void => {
        if (performance.now() >= deadline) return finish();
        sentAt = performance.now();
        socket.write(request);
        clearTimeout(timer);
        timer = setTimeout(() => {
          timeouts += 1;
          finish();
        }, TIMEOUT_MS);
      };
      // The first request is timed from the moment the client starts connecting.
      sentAt = performance.now();
      timer = setTimeout(() => {
        timeouts += 1;
        finish();
      }, TIMEOUT_MS);
      socket.on('connect', () => {
        socket.write(request);
      });
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          const response = takeResponse(buffer, 'GET');
          if (!response) return;
          if (!response.head.startsWith('HTTP/1.1 200')) errors += 1;
          buffer = response.rest;
          latencies.push(performance.now() - sentAt);
          send();
        }
      });
      socket.on('error', () => {
        errors += 1;
        finish();
      });
    });
  return Promise.all(Array.from({ length: CLIENTS }, client)).then(() => {
    latencies.sort((a, b) => a - b);
    const at = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    return { answered: latencies.length, timeouts, errors, p50: at(0.5), p99: at(0.99) };
  });
}

async function main(): Promise<void> {
  const rows: [string, Result][] = [];
  for (const start of [() => startBerth('none'), () => startReference()]) {
    const reg = await start();
    try {
      rows.push([reg.name, await hammer(reg, await seed(reg))]);
    } finally {
      await reg.stop();
    }
  }
  process.stdout.write(
    `${CLIENTS} keep-alive clients for ${SECONDS} s (timeout ${TIMEOUT_MS / 1000} s)\n`,
  );
  process.stdout.write('registry     answered   timeouts  errors   p50 ms   p99 ms\n');
  for (const [name, r] of rows)
    process.stdout.write(
      `${name.padEnd(12)} ${String(r.answered).padStart(8)} ${String(r.timeouts).padStart(10)} ${String(r.errors).padStart(7)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)}\n`,
    );
  const [berth, ref] = [rows[0]![1], rows[1]![1]];
  process.stdout.write(
    `ratios berth/reference: answered ${(berth.answered / ref.answered).toFixed(2)}, p99 ${(berth.p99 / ref.p99).toFixed(2)}\n`,
  );
  process.stdout.write(`${JSON.stringify({ connections: Object.fromEntries(rows) })}\n`);
}

await main();
