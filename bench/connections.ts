/**
 * A thousand keep-alive clients at once against Berth and the reference registry in the same run:
 * every client opens its connection in the same instant and, in a closed loop for the duration,
 * asks in turn for a manifest (GET), a blob's size (HEAD) and a small blob (GET). Reports requests
 * answered and per second, requests left unanswered after 10 s (timeouts), errors, p50/p99, the
 * server's peak RSS, and the ratios. `--clients N` and `--seconds S` change the load.
 */
import net from 'node:net';
import { putManifest, uploadMonolithic } from './http-client.js';
import { takeResponse } from './load.js';
import { peakRssMiB, startBerth, startReference, type RegistryUnderTest } from './servers.js';
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
  perSecond: number;
  timeouts: number;
  /** Of the timeouts: still connecting, connected but never answered, after an answer. */
  timeoutsConnecting: number;
  timeoutsFirst: number;
  errors: number;
  p50: number;
  p99: number;
  peakRssMiB: number;
}

/** What each client asks for, in turn. */
interface Paths {
  manifest: string;
  blob: string;
}

async function seed(reg: RegistryUnderTest): Promise<Paths> {
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
  return { manifest: '/v2/bench/conn/manifests/v1', blob: `/v2/bench/conn/blobs/${digest(layer)}` };
}

function hammer(reg: RegistryUnderTest, paths: Paths): Promise<Result> {
  const [host, port] = [reg.host.split(':')[0]!, Number(reg.host.split(':')[1])];
  const request = (method: string, path: string) =>
    Buffer.from(
      `${method} ${path} HTTP/1.1\r\nHost: ${reg.host}\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n\r\n`,
    );
  const all: Record<string, [string, Buffer]> = {
    manifest: ['GET', request('GET', paths.manifest)],
    head: ['HEAD', request('HEAD', paths.blob)],
    blob: ['GET', request('GET', paths.blob)],
  };
  // `--only manifest|head|blob` isolates one kind of request.
  const only = process.argv.includes('--only')
    ? process.argv[process.argv.indexOf('--only') + 1]
    : undefined;
  const requests = only ? [all[only]!] : Object.values(all);
  const started = performance.now();
  const latencies: number[] = [];
  let timeouts = 0;
  let timeoutsConnecting = 0;
  let timeoutsFirst = 0;
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const client = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect(port, host);
      let buffer: Buffer = Buffer.alloc(0);
      let sentAt = performance.now();
      let turn = 0;
      let timer: NodeJS.Timeout | undefined;
      let connected = false;
      const finish = (): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      const send = (): void => {
        if (performance.now() >= deadline) return finish();
        sentAt = performance.now();
        turn += 1;
        socket.write(requests[turn % requests.length]![1]);
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
        if (connected) timeoutsFirst += 1;
        else timeoutsConnecting += 1;
        finish();
      }, TIMEOUT_MS);
      socket.on('connect', () => {
        connected = true;
        socket.write(requests[0]![1]);
      });
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          const response = takeResponse(buffer, requests[turn % requests.length]![0]);
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
    const seconds = (performance.now() - started) / 1000;
    return {
      answered: latencies.length,
      perSecond: latencies.length / seconds,
      timeouts,
      timeoutsConnecting,
      timeoutsFirst,
      errors,
      p50: at(0.5),
      p99: at(0.99),
      peakRssMiB: peakRssMiB(reg.pid),
    };
  });
}

async function main(): Promise<void> {
  const rows: [string, Result][] = [];
  const starts = [() => startBerth('none'), () => startReference()];
  // `--berth-only` skips the reference; `--pid P --port N` loads a registry already running (a
  // Berth started with --cpu-prof, say) instead.
  if (process.argv.includes('--berth-only')) starts.pop();
  if (process.argv.includes('--port')) {
    const port = arg('port', 0);
    starts.splice(0, starts.length, async () => ({
      name: 'running',
      url: `http://127.0.0.1:${port}`,
      host: `127.0.0.1:${port}`,
      pid: arg('pid', 0),
      headersFor: async () => ({}),
      stop: async () => undefined,
    }));
  }
  for (const start of starts) {
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
  process.stdout.write(
    'registry     answered    req/s   timeouts  errors   p50 ms   p99 ms  peak RSS MiB\n',
  );
  for (const [name, r] of rows)
    process.stdout.write(
      `${name.padEnd(12)} ${String(r.answered).padStart(8)} ${r.perSecond.toFixed(0).padStart(8)} ${String(r.timeouts).padStart(10)} ${String(r.errors).padStart(7)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${r.peakRssMiB.toFixed(0).padStart(13)}\n`,
    );
  for (const [name, r] of rows)
    if (r.timeouts > 0)
      process.stdout.write(
        `${name}: of ${r.timeouts} timeouts, ${r.timeoutsConnecting} never connected, ${r.timeoutsFirst} connected without a first answer, ${r.timeouts - r.timeoutsConnecting - r.timeoutsFirst} after an answer\n`,
      );
  const [berth, ref] = [rows[0]![1], rows[1]?.[1]];
  if (ref)
    process.stdout.write(
      `ratios berth/reference: req/s ${(berth.perSecond / ref.perSecond).toFixed(2)}, p99 ${(berth.p99 / ref.p99).toFixed(2)}, peak RSS ${(berth.peakRssMiB / ref.peakRssMiB).toFixed(2)}\n`,
    );
  process.stdout.write(`${JSON.stringify({ connections: Object.fromEntries(rows) })}\n`);
}

await main();
