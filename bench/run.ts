/**
 * `npm run bench [-- --short] [--only 'small pushes'] [--no-restarts]`: Berth against the reference
 * registry (Debian's docker-registry, CNCF distribution) on this machine, the same workloads
 * interleaved, medians of the runs; every registry is restarted on its data between runs. Then,
 * unless `--only`, the thousand-connection and large-repository benchmarks (`runCompanions`).
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { machineLimits } from './machine.js';
import {
  directWriteRate,
  durableWriteRate,
  staticDownloadRates,
  staticUploadRate,
} from './limits.js';
import { jsonLine, judge, judgeAuth, judgeLimits, table } from './report.js';
import { startBerth, startReference, type RegistryUnderTest } from './servers.js';
import {
  BigBlob,
  downloads,
  median,
  requestRates,
  skopeoCopy,
  skopeoLayout,
  skopeoLocalCopy,
  smallPushesInTurns,
  tagListing,
  uploads,
  warmUploads,
  type BenchPlan,
  type Figures,
} from './workloads.js';

const MiB = 1024 * 1024;
const short = process.argv.includes('--short');
const runs = 3;
/** Turns each registry takes in the request-rate step (its load time cut as many ways). */
const RATE_SLICES = short ? 2 : 5;
/** The turns the small pushes' timed images take between the registries. */
const PUSH_SLICES = short ? 2 : 5;
// `--no-restarts` keeps each registry's first process through all runs (started in a fixed order).
const noRestarts = process.argv.includes('--no-restarts');
const plan: BenchPlan = short
  ? {
      blobBytes: 32 * MiB,
      uploadRounds: 1,
      loadSeconds: 2,
      smallImages: 40,
      warmImages: 40,
      skopeoLayerBytes: 2 * MiB,
    }
  : {
      blobBytes: 256 * MiB,
      uploadRounds: 3,
      loadSeconds: 10,
      smallImages: 200,
      warmImages: 200,
      skopeoLayerBytes: 20 * MiB,
    };

function requireTool(tool: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    throw new Error(`the benchmark needs ${tool} (apt-get install -y docker-registry skopeo)`);
  }
}

async function main(): Promise<void> {
  ['docker-registry', 'skopeo', 'tar', 'gzip'].forEach(requireTool);
  const started = performance.now();
  const machine = await machineLimits(short ? 128 * MiB : 512 * MiB);
  const big = new BigBlob(plan.blobBytes);
  const registries: RegistryUnderTest[] = [
    await startBerth('none'),
    await startBerth('token'),
    await startReference(),
  ];
  const samples = new Map<string, Map<string, number[]>>(
    [...registries.map((r) => r.name), 'limits'].map((name) => [name, new Map()]),
  );
  const record = (reg: { name: string }, figures: Figures): void => {
    for (const [k, v] of Object.entries(figures)) {
      const byName = samples.get(reg.name)!;
      byName.set(k, [...(byName.get(k) ?? []), v]);
    }
  };
  // The machine's limits, measured in each run next to the registries' figures.
  const limits = { name: 'limits' };
  const tagsPrepared = new Set<string>();
  const layouts: string[] = [];
  try {
    for (let run = 0; run < runs; run += 1) {
      // Each registry takes each position once: whoever comes after a big write meets writeback.
      const order = registries.map((_, i) => registries[(i + run) % registries.length]!);
      // And each is started first once: on these machines a process started before another ran the
      // same requests 5-9% faster for its whole life (same build, both loaded alternately).
      if (run > 0 && !noRestarts) for (const reg of order) await reg.restart!();
      // New layers each run: skopeo's blob-info cache (system-wide for root) would turn repeats into mounts.
      const layout = skopeoLayout(plan.skopeoLayerBytes);
      layouts.push(layout.dir);
      if (run === 0) machine['skopeo oci-to-oci copy, no registry, s'] = skopeoLocalCopy(layout);
      // A step measures every registry: one after another (`oneByOne`), or the request rates,
      // which load them in turns within the step.
      const oneByOne =
        (label: string, work: (reg: RegistryUnderTest) => Promise<Figures>) =>
        async (regs: RegistryUnderTest[]): Promise<Map<string, Figures>> => {
          const out = new Map<string, Figures>();
          for (const reg of regs) {
            process.stderr.write(`run ${run + 1}/${runs}: ${label} on ${reg.name}\n`);
            out.set(reg.name, await work(reg));
          }
          return out;
        };
      const steps: [string, (regs: RegistryUnderTest[]) => Promise<Map<string, Figures>>][] = [
        ['uploads', oneByOne('uploads', (reg) => uploads(reg, big, run, plan.uploadRounds))],
        ['downloads', oneByOne('downloads', (reg) => downloads(reg, big))],
        ['request rates', (regs) => requestRates(regs, plan, RATE_SLICES)],
        ['small pushes', (regs) => smallPushesInTurns(regs, plan, run, PUSH_SLICES)],
        ['tag listing', oneByOne('tag listing', (reg) => tagListing(reg, tagsPrepared))],
        ['skopeo copy', oneByOne('skopeo copy', (reg) => skopeoCopy(reg, layout, run))],
      ];
      // `--only WORDS` runs the steps whose label contains WORDS (for a quick look at one figure).
      const only = process.argv.includes('--only')
        ? process.argv[process.argv.indexOf('--only') + 1]
        : undefined;
      for (const [label, step] of steps.filter(([l]) => !only || l.includes(only))) {
        if (label === 'uploads') {
          for (const reg of order) await warmUploads(reg, big, run);
          // As many durable writes as timed uploads of each kind, and their median likewise.
          const rates = Array.from({ length: plan.uploadRounds }, () => {
            spawnSync('sync');
            return durableWriteRate(big.variant(run).bytes);
          });
          const rate = median(rates);
          record(limits, {
            'upload monolithic MiB/s': rate,
            'upload chunked MiB/s': rate,
            'first durable write MiB/s': rates[0]!,
            'nginx PUT + fsync MiB/s': await staticUploadRate(big, plan.uploadRounds),
          });
          spawnSync('sync');
          const direct = directWriteRate(big.variant(run).bytes);
          if (direct !== undefined) record(limits, { 'direct write MiB/s': direct });
        }
        if (label === 'downloads') record(limits, await staticDownloadRates(big));
        if (label === 'request rates')
          process.stderr.write(`run ${run + 1}/${runs}: request rates, in ${RATE_SLICES} turns\n`);
        if (label === 'small pushes')
          process.stderr.write(`run ${run + 1}/${runs}: small pushes, in ${PUSH_SLICES} turns\n`);
        const figures = await step(order);
        for (const reg of order) {
          // Each run's figures, before the medians: how far the runs spread.
          process.stderr.write(`  ${reg.name} ${JSON.stringify(figures.get(reg.name))}\n`);
          record(reg, figures.get(reg.name)!);
        }
      }
    }
    for (const reg of registries) record(reg, { 'peak RSS MiB': reg.peakRssMiB!() });
  } finally {
    await Promise.all(registries.map((r) => r.stop()));
    layouts.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  }
  const medians = (name: string): Figures =>
    Object.fromEntries([...samples.get(name)!].map(([k, v]) => [k, median(v)]));
  const firstWrite = medians('limits')['first durable write MiB/s'];
  if (firstWrite !== undefined)
    machine['disk write+fsync, the first of each run before the uploads, median, MiB/s'] =
      firstWrite;
  const direct = medians('limits')['direct write MiB/s'];
  if (direct !== undefined)
    machine['disk write around the page cache (O_DIRECT) + fsync, median of the runs, MiB/s'] =
      direct;
  const rows = judge(medians('berth'), medians('reference'));
  const authRows = judgeAuth(medians('berth+auth'), medians('berth'));
  const limitRows = judgeLimits(medians('berth'), medians('limits'));
  process.stdout.write(
    `\nBerth vs reference registry (docker-registry 2.8), ${short ? 'short' : 'full'} mode, medians of ${runs} interleaved runs\n`,
  );
  process.stdout.write(`${table(rows)}\n\n`);
  process.stdout.write(
    "Berth against the machine's limits in the same run: the disk's durable write rate (the blob written and fsynced) for uploads, the same client downloading from nginx (sendfile, page cache) for downloads\n",
  );
  process.stdout.write(`${table(limitRows, ['berth', 'limit', 'berth/limit'])}\n\n`);
  process.stdout.write(
    'Berth with token authentication (a bearer token per client, as docker uses) vs without\n',
  );
  process.stdout.write(`${table(authRows, ['auth on', 'auth off', 'on/off'])}\n\n`);
  process.stdout.write(
    Object.entries(machine)
      .map(([k, v]) => `${k}: ${v >= 10 ? v.toFixed(0) : v.toFixed(2)}`)
      .join('\n') + '\n',
  );
  process.stdout.write(`took ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  process.stdout.write(
    `${jsonLine(short ? 'short' : 'full', rows, machine, authRows, limitRows)}\n`,
  );
}

/**
 * The figures measured by their own benchmarks, run after this one so their registries
 * never share the machine with its: a thousand connections (`connections.ts`) and large
 * repositories, start-up and idle memory (`large.ts`), each in a process of its own with its
 * tables and JSON line on this one's output; smaller in the short mode. Skipped with `--only`.
 */
function runCompanions(): void {
  const companions: [string, string[]][] = [
    ['connections.ts', short ? ['--seconds', '5', '--clients', '300'] : []],
    ['large.ts', short ? ['--tags', '10000', '--repositories', '5000'] : []],
  ];
  for (const [file, args] of companions) {
    process.stdout.write(`\n`);
    // What the uploads wrote is written back first, as before each upload: the companions time
    // start-ups and single requests, which a writeback in progress would slow.
    spawnSync('sync');
    const run = spawnSync(
      process.execPath,
      [...process.execArgv, path.join(import.meta.dirname, file), ...args],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (run.status !== 0) throw new Error(`${file} failed (exit ${run.status ?? run.signal})`);
  }
}

main()
  .then(() => {
    if (!process.argv.includes('--only')) runCompanions();
  })
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
