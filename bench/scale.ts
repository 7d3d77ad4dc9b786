/**
 * `npm run bench:scale [-- --short]`: Berth on the embedded default (SQLite + filesystem) next to
 * Berth on PostgreSQL + Ceph S3 (one replica, and two behind nginx) and the reference registry,
 * the same workloads interleaved, medians of the runs, ratios against the reference.
 */
import { startNginx } from '../test/helpers/nginx.js';
import { startBerth, startReference, type RegistryUnderTest } from './servers.js';
import { s3UploadLimits } from './s3-limits.js';
import {
  createBucket,
  createDatabase,
  startCeph,
  startPostgres,
  type Service,
} from './services.js';
import {
  median,
  BigBlob,
  downloads,
  requestRates,
  smallPushCount,
  smallPushes,
  streamedUpload,
  uploads,
  type BenchPlan,
  type Figures,
} from './workloads.js';

const MiB = 1024 * 1024;
const short = process.argv.includes('--short');
const runs = short ? 1 : 3;
const plan: BenchPlan = short
  ? {
      blobBytes: 32 * MiB,
      uploadRounds: 1,
      loadSeconds: 2,
      smallImages: 30,
      warmImages: 30,
      skopeoLayerBytes: 2 * MiB,
    }
  : {
      blobBytes: 128 * MiB,
      uploadRounds: 1,
      loadSeconds: 5,
      smallImages: 100,
      warmImages: 100,
      skopeoLayerBytes: 2 * MiB,
    };

const FIGURES = [
  'upload monolithic MiB/s',
  'upload chunked MiB/s',
  'upload streamed MiB/s',
  'download 1 stream MiB/s',
  'download 8 streams MiB/s',
  'manifest GET req/s',
  'manifest GET server CPU ms/req',
  'manifest GET proxy CPU ms/req',
  'manifest GET client CPU ms/req',
  'blob HEAD req/s',
  'small image pushes /s',
  'small image pushes, blobs PATCHed /s',
  'S3 requests per small image',
];

/** Requests Berth sent to the object store so far, by operation (from its /metrics). */
async function storageRequests(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^berth_storage_requests_total\{operation="([^"]+)"\} (\d+)/gm))
    out.set(m[1]!, Number(m[2]));
  return out;
}

/**
 * The S3 requests of one small image push on `reg` (one replica), by operation, and in all: over
 * every image `smallPushes` pushed (its blobs whole, then PATCHed; warm-up included).
 */
async function s3RequestsPerPush(
  reg: RegistryUnderTest,
  push: () => Promise<Figures>,
): Promise<{ figures: Figures; perImage: Map<string, number> }> {
  const before = await storageRequests(reg.url);
  const figures = await push();
  const after = await storageRequests(reg.url);
  const perImage = new Map<string, number>();
  const images = smallPushCount(plan);
  for (const [op, n] of after) perImage.set(op, (n - (before.get(op) ?? 0)) / images);
  const total = [...perImage.values()].reduce((a, b) => a + b, 0);
  return { figures: { ...figures, 'S3 requests per small image': total }, perImage };
}

function scaledEnv(
  pg: string,
  database: string,
  ceph: Service<{ endpoint: string; accessKeyId: string; secretAccessKey: string }>,
  bucket: string,
) {
  return {
    BERTH_DATABASE_URL: createDatabase(pg, database),
    BERTH_STORAGE_BACKEND: 's3',
    BERTH_STORAGE_S3_BUCKET: bucket,
    BERTH_STORAGE_S3_ENDPOINT: ceph.value.endpoint,
    BERTH_STORAGE_S3_ACCESS_KEY_ID: ceph.value.accessKeyId,
    BERTH_STORAGE_S3_SECRET_ACCESS_KEY: ceph.value.secretAccessKey,
    BERTH_TRUST_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const pg = await startPostgres();
  const ceph = await startCeph();
  const stops: (() => Promise<void> | void)[] = [() => ceph.stop(), () => pg.stop()];
  try {
    await createBucket(ceph.value, 'bench-one');
    await createBucket(ceph.value, 'bench-two');
    await createBucket(ceph.value, 'bench-limits');
    const one = scaledEnv(pg.value, 'bench_one', ceph, 'bench-one');
    const two = scaledEnv(pg.value, 'bench_two', ceph, 'bench-two');
    const embedded = await startBerth('none', { name: 'embedded' });
    const single = await startBerth('none', { name: 'pg+s3', env: one });
    const replicaA = await startBerth('none', { name: 'replica A', env: two });
    const replicaB = await startBerth('none', { name: 'replica B', env: two });
    const lb = await startNginx([replicaA.host, replicaB.host]);
    const pair: RegistryUnderTest = {
      ...replicaA,
      name: 'pg+s3 x2',
      url: lb.url,
      host: lb.host,
      pids: [replicaA.pid, replicaB.pid],
      proxyPid: lb.pid,
      stop: async () => {
        await lb.stop();
        await replicaA.stop();
        await replicaB.stop();
      },
    };
    const reference = await startReference();
    const registries = [embedded, single, pair, reference];
    stops.unshift(...registries.map((r) => () => r.stop()));
    const big = new BigBlob(plan.blobBytes);
    const samples = new Map<string, Map<string, number[]>>(
      [...registries.map((r) => r.name), 'S3 limit'].map((name) => [name, new Map()]),
    );
    const record = (name: string, figures: Figures) => {
      const byName = samples.get(name)!;
      for (const [k, v] of Object.entries(figures)) byName.set(k, [...(byName.get(k) ?? []), v]);
    };
    let operations = new Map<string, number>();
    for (let run = 0; run < runs; run += 1) {
      const order = registries.map((_, i) => registries[(i + run) % registries.length]!);
      const steps: [string, (reg: RegistryUnderTest) => Promise<Figures>][] = [
        [
          'uploads',
          async (reg) => ({
            ...(await uploads(reg, big, run, plan.uploadRounds)),
            ...(await streamedUpload(reg, big, run)),
          }),
        ],
        ['downloads', (reg) => downloads(reg, big)],
        ['request rates', async (reg) => (await requestRates([reg], plan)).get(reg.name)!],
        [
          'small pushes',
          async (reg) => {
            if (reg !== single) return smallPushes(reg, plan, run);
            const counted = await s3RequestsPerPush(reg, () => smallPushes(reg, plan, run));
            operations = counted.perImage;
            return counted.figures;
          },
        ],
      ];
      for (const [label, step] of steps) {
        for (const reg of order) {
          process.stderr.write(`run ${run + 1}/${runs}: ${label} on ${reg.name}\n`);
          record(reg.name, await step(reg));
        }
        if (label === 'uploads') {
          // The gateway's own ceiling for the same uploads, in the same run (bench/s3-limits.ts).
          process.stderr.write(`run ${run + 1}/${runs}: uploads straight to the S3 gateway\n`);
          const target = { ...ceph.value, bucket: 'bench-limits' };
          record(
            'S3 limit',
            await s3UploadLimits(target, big.variant(run * 2 + 100).bytes, plan.smallImages, run),
          );
        }
      }
    }
    const value = (name: string, figure: string) => {
      const v = samples.get(name)!.get(figure);
      return v ? median(v) : NaN;
    };
    const names = registries.map((r) => r.name);
    const header = ['figure', ...names, ...names.slice(0, 3).map((n) => `${n}/ref`)];
    const rows = FIGURES.map((f) => [
      f,
      ...names.map((n) =>
        Number.isNaN(value(n, f)) ? '-' : value(n, f).toFixed(f.includes('ms') ? 3 : 1),
      ),
      ...names
        .slice(0, 3)
        .map((n) =>
          Number.isNaN(value(n, f) / value('reference', f))
            ? '-'
            : `${(value(n, f) / value('reference', f)).toFixed(2)}x`,
        ),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    process.stdout.write(
      `\nBerth embedded vs on PostgreSQL + Ceph S3 (1 replica, 2 behind nginx) vs reference, ${short ? 'short' : 'full'} mode, medians of ${runs}\n`,
    );
    process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
    const limitFigures = [
      'upload monolithic MiB/s',
      'upload chunked MiB/s',
      'upload streamed MiB/s',
      'small image pushes /s',
    ];
    const limitRows = limitFigures.map((f) => [
      f,
      value('pg+s3', f).toFixed(1),
      value('S3 limit', f).toFixed(1),
      `${(value('pg+s3', f) / value('S3 limit', f)).toFixed(2)}x`,
    ]);
    const limitHeader = ['figure', 'pg+s3', 'S3 limit', 'pg+s3/limit'];
    const limitWidths = limitHeader.map((h, i) =>
      Math.max(h.length, ...limitRows.map((r) => r[i]!.length)),
    );
    const limitLine = (cells: string[]) =>
      cells
        .map((c, i) => (i === 0 ? c.padEnd(limitWidths[i]!) : c.padStart(limitWidths[i]!)))
        .join('  ');
    process.stdout.write(
      `\nPG + S3 uploads and pushes against the gateway's own limit in the same run (the S3 requests each needs, sent straight from memory: see bench/s3-limits.ts)\n${[limitLine(limitHeader), ...limitRows.map(limitLine)].join('\n')}\n`,
    );
    process.stdout.write(
      `S3 requests per small image (PG + S3, one replica, last run): ${
        [...operations]
          .filter(([, n]) => n > 0)
          .map(([op, n]) => `${op} ${n.toFixed(1)}`)
          .join(', ') || 'none (its blobs are kept in the database)'
      }\n`,
    );
    process.stdout.write(`took ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    process.stdout.write(
      `${JSON.stringify({ bench: 'berth-scale', date: new Date().toISOString(), mode: short ? 'short' : 'full', figures: Object.fromEntries(FIGURES.map((f) => [f, Object.fromEntries([...names, 'S3 limit'].map((n) => [n, value(n, f)]))])) })}\n`,
    );
  } finally {
    for (const stop of stops) await Promise.resolve(stop()).catch(() => {});
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
