/** The benchmark's workloads: each runs against one registry and returns its figures. */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  downloadVerified,
  putManifest,
  request,
  uploadChunked,
  uploadStreamed,
  uploadMonolithic,
} from './http-client.js';
import { KeepAliveConnection, percentile, runLoad } from './load.js';
import { proxyCpuSeconds, serverCpuSeconds, type RegistryUnderTest } from './servers.js';

/** Sizes and durations of one benchmark mode. */
export interface BenchPlan {
  blobBytes: number;
  /**
   * Uploads of each kind timed per run (`uploads`); the figure is their median. A process's
   * first large upload runs slower than its later ones, which one round alone would time.
   */
  uploadRounds: number;
  loadSeconds: number;
  smallImages: number;
  /**
   * Small images pushed untimed before the timed ones, as many each way: a fresh Node process
   * runs the push path's code unoptimized for its first several hundred images (V8 compiles it
   * as it runs), and the steady state is what is measured.
   */
  warmImages: number;
  skopeoLayerBytes: number;
}

/** A workload's figures, by name. */
export type Figures = Record<string, number>;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MiB = 1024 * 1024;

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A large random blob, varied per run so no registry can skip the work. */
export class BigBlob {
  private readonly bytes: Buffer;
  constructor(size: number) {
    this.bytes = randomBytes(size);
  }
  /** The whole blob, varied by `run` (the same buffer: the next variant or part changes it). */
  variant(run: number): { bytes: Buffer; digest: string } {
    return this.part(run, this.bytes.length);
  }
  /** The first `size` bytes, varied by `tag` (a view: the next variant or part changes it). */
  part(tag: number, size: number): { bytes: Buffer; digest: string } {
    const bytes = this.bytes.subarray(0, size);
    bytes.writeUInt32BE(tag, 0);
    bytes.writeUInt32BE(Date.now() % 0xffffffff, 4);
    return { bytes, digest: sha256(bytes) };
  }
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
}

const push = (name: string): string[] => [`repository:${name}:pull,push`];
const pull = (name: string): string[] => [`repository:${name}:pull`];

/**
 * Warms a registry's upload path, untimed: a 32 MiB blob monolithic and again in 8 MiB PATCHes.
 * A process's first uploads run 10-15% slower (code not yet compiled, buffers not yet in place),
 * and each run starts every registry afresh.
 */
export async function warmUploads(
  reg: RegistryUnderTest,
  big: BigBlob,
  run: number,
): Promise<void> {
  const name = `bench/warm${run}`;
  const auth = await reg.headersFor(push(name));
  for (const chunk of [undefined, 8 * MiB]) {
    const part = big.part(run * 2 + 100 + (chunk ? 1 : 0), 32 * MiB);
    if (chunk) await uploadChunked(reg.url, name, part.bytes, part.digest, chunk, auth);
    else await uploadMonolithic(reg.url, name, part.bytes, part.digest, auth);
  }
}

/** The middle value (the upper middle of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Monolithic and chunked upload throughput, MiB/s: the median of `rounds` uploads of each
 * kind (alternating, each after a `sync` outside the clock, so one's writeback does not slow the
 * next), and apart the first of each (with more than one round), which a process just started
 * pays more for.
 */
export async function uploads(
  reg: RegistryUnderTest,
  big: BigBlob,
  run: number,
  rounds: number,
): Promise<Figures> {
  // The throughput figures fetch their token before the clock starts: a process's first token
  // runs the password check (90-150 ms), which is not the upload's (small pushes time theirs).
  const monoName = `bench/up${run}`;
  const chunkName = `bench/chunk${run}`;
  const monoAuth = await reg.headersFor(push(monoName));
  const chunkAuth = await reg.headersFor(push(chunkName));
  const mono: number[] = [];
  const chunked: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const tag = 200 + run * 2 * rounds + round * 2;
    const whole = big.variant(tag);
    spawnSync('sync');
    const wholeSeconds = await timed(() =>
      uploadMonolithic(reg.url, monoName, whole.bytes, whole.digest, monoAuth),
    );
    mono.push(whole.bytes.length / MiB / wholeSeconds);
    const parts = big.variant(tag + 1);
    spawnSync('sync');
    const partsSeconds = await timed(() =>
      uploadChunked(reg.url, chunkName, parts.bytes, parts.digest, 8 * MiB, chunkAuth),
    );
    chunked.push(parts.bytes.length / MiB / partsSeconds);
  }
  const figures: Figures = {
    'upload monolithic MiB/s': median(mono),
    'upload chunked MiB/s': median(chunked),
  };
  if (rounds > 1) {
    figures['first upload monolithic MiB/s'] = mono[0]!;
    figures['first upload chunked MiB/s'] = chunked[0]!;
  }
  return figures;
}

/** One upload as docker sends a layer: POST, one PATCH of unannounced length, empty PUT; MiB/s. */
export async function streamedUpload(
  reg: RegistryUnderTest,
  big: BigBlob,
  run: number,
): Promise<Figures> {
  const blob = big.variant(run * 2 + 50);
  const name = `bench/stream${run}`;
  const auth = await reg.headersFor(push(name));
  const seconds = await timed(() => uploadStreamed(reg.url, name, blob.bytes, blob.digest, auth));
  return { 'upload streamed MiB/s': blob.bytes.length / MiB / seconds };
}

/** Download throughput with 1 and 8 streams, each verifying the digest, MiB/s. */
export async function downloads(reg: RegistryUnderTest, big: BigBlob): Promise<Figures> {
  const blob = big.variant(999);
  await uploadMonolithic(
    reg.url,
    'bench/down',
    blob.bytes,
    blob.digest,
    await reg.headersFor(push('bench/down')),
  );
  const auth = await reg.headersFor(pull('bench/down'));
  const oneCpu = serverCpuSeconds(reg);
  const one = await timed(() => downloadVerified(reg.url, 'bench/down', blob.digest, auth));
  const eightCpu = serverCpuSeconds(reg);
  const eight = await timed(() =>
    Promise.all(
      Array.from({ length: 8 }, () => downloadVerified(reg.url, 'bench/down', blob.digest, auth)),
    ),
  );
  const eightCpuSeconds = serverCpuSeconds(reg) - eightCpu;
  return {
    'download 1 stream MiB/s': blob.bytes.length / MiB / one,
    'download 8 streams MiB/s': (8 * blob.bytes.length) / MiB / eight,
    'download 1 stream server CPU ms/MiB': ((eightCpu - oneCpu) * 1000 * MiB) / blob.bytes.length,
    'download 8 streams server CPU ms/MiB':
      (eightCpuSeconds * 1000 * MiB) / (8 * blob.bytes.length),
  };
}

/** How a blob is sent: whole in the PUT (`uploadMonolithic`), or as docker does (`uploadStreamed`). */
type BlobSender = typeof uploadMonolithic;

/**
 * Pushes one small image (a config and two small layers) the way a new client process does: the
 * `GET /v2/` every client starts with, a token (with auth), then for each blob a HEAD and its
 * upload (POST and a PUT carrying it, or with `send`: as docker sends it, POST, PATCH, empty PUT),
 * then the manifest.
 */
async function pushSmallImage(
  reg: RegistryUnderTest,
  name: string,
  tag: string,
  send: BlobSender = uploadMonolithic,
): Promise<Buffer> {
  // Unauthenticated, as docker, skopeo and podman ask first: 200 without auth, 401 with.
  await request(`${reg.url}/v2/`, 'GET');
  const auth = await reg.headersFor(push(name), true);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: new Date().toISOString(),
      nonce: randomBytes(8).toString('hex'),
    }),
  );
  const descriptors = [];
  for (const bytes of [config, randomBytes(4096), randomBytes(2048)]) {
    const digest = sha256(bytes);
    await request(`${reg.url}/v2/${name}/blobs/${digest}`, 'HEAD', undefined, auth);
    await send(reg.url, name, bytes, digest, auth);
    descriptors.push({ digest, size: bytes.length });
  }
  const [configDescriptor, ...layers] = descriptors;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configDescriptor },
      layers: layers.map((layer) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        ...layer,
      })),
    }),
  );
  await putManifest(reg.url, name, tag, manifest, OCI_MANIFEST, auth);
  return manifest;
}

/** How many images one `smallPushes` pushes in all (warm-up included). */
export function smallPushCount(plan: BenchPlan): number {
  return 2 * (plan.warmImages + plan.smallImages);
}

/**
 * Untimed first pushes, both ways: the steady state is measured, not a first login's password hash
 * (with auth), a first repository's creation or the warm-up of Berth's JIT-compiled code, which
 * one run of the short mode would weigh heavily.
 */
async function warmSmallPushes(reg: RegistryUnderTest, plan: BenchPlan, run: number) {
  for (let i = 0; i < plan.warmImages; i += 1) {
    await pushSmallImage(reg, `bench/warm${run}`, `w${i}`);
    await pushSmallImage(reg, `bench/warm${run}`, `p${i}`, uploadStreamed);
  }
}

/** Seconds taken by pushing images `from`..`from + count - 1` of `name`, one after another. */
function timedPushes(
  reg: RegistryUnderTest,
  name: string,
  from: number,
  count: number,
  send: BlobSender = uploadMonolithic,
): Promise<number> {
  return timed(async () => {
    for (let i = from; i < from + count; i += 1) await pushSmallImage(reg, name, `t${i}`, send);
  });
}

/**
 * Small images pushed one after another, images/s: with each blob whole in its PUT, and as docker,
 * skopeo and podman send blobs (a PATCH, then an empty PUT).
 */
export async function smallPushes(
  reg: RegistryUnderTest,
  plan: BenchPlan,
  run: number,
): Promise<Figures> {
  return (await smallPushesInTurns([reg], plan, run, 1)).get(reg.name)!;
}

/**
 * Small pushes on every registry (untimed first pushes, then images/s both ways), the timed images
 * cut into `slices` that take turns between the registries (the order rotating each slice), as the
 * request rates are: the disk's sync latency moves from minute to minute, and each registry's
 * writes leave writeback for whoever comes next, so a registry pushing all its images in one block
 * met a disk of its own. Returns each registry's figures, by name.
 */
export async function smallPushesInTurns(
  regs: RegistryUnderTest[],
  plan: BenchPlan,
  run: number,
  slices: number,
): Promise<Map<string, Figures>> {
  for (const reg of regs) await warmSmallPushes(reg, plan, run);
  const whole = new Map(regs.map((reg) => [reg, 0]));
  const patched = new Map(regs.map((reg) => [reg, 0]));
  const per = Math.ceil(plan.smallImages / slices);
  for (let slice = 0; slice < slices; slice += 1) {
    const from = slice * per;
    const count = Math.min(per, plan.smallImages - from);
    for (let i = 0; i < regs.length; i += 1) {
      const reg = regs[(i + slice) % regs.length]!;
      whole.set(reg, whole.get(reg)! + (await timedPushes(reg, `bench/small${run}`, from, count)));
      const streamed = await timedPushes(reg, `bench/patched${run}`, from, count, uploadStreamed);
      patched.set(reg, patched.get(reg)! + streamed);
    }
  }
  return new Map(
    regs.map((reg) => [
      reg.name,
      {
        'small image pushes /s': plan.smallImages / whole.get(reg)!,
        'small image pushes, blobs PATCHed /s': plan.smallImages / patched.get(reg)!,
      },
    ]),
  );
}

/** One cached read the request-rate step loads a registry with. */
interface CachedRead {
  label: string;
  method: 'GET' | 'HEAD';
  path: string;
  headers: Record<string, string>;
}

/** Pushes what the cached reads read (an image, a 1 KiB blob) and returns the reads. */
async function prepareCachedReads(reg: RegistryUnderTest): Promise<CachedRead[]> {
  await pushSmallImage(reg, 'bench/hot', 'latest');
  const layer = randomBytes(1024);
  const digest = sha256(layer);
  await uploadMonolithic(
    reg.url,
    'bench/hot',
    layer,
    digest,
    await reg.headersFor(push('bench/hot')),
  );
  const auth = await reg.headersFor(pull('bench/hot'));
  return [
    {
      label: 'manifest GET',
      method: 'GET',
      path: '/v2/bench/hot/manifests/latest',
      headers: { accept: OCI_MANIFEST, ...auth },
    },
    { label: 'blob HEAD', method: 'HEAD', path: `/v2/bench/hot/blobs/${digest}`, headers: auth },
  ];
}

/** What one registry's slices of one cached read added up to. */
interface LoadTotals {
  requests: number;
  errors: number;
  seconds: number;
  latencies: number[];
  serverCpu: number;
  proxyCpu: number;
  clientCpuMicros: number;
}

/** Loads `reg` with `read` on 64 connections for `seconds`, adding what it measured to `totals`. */
async function loadSlice(
  reg: RegistryUnderTest,
  read: CachedRead,
  seconds: number,
  totals: LoadTotals,
): Promise<void> {
  const { hostname, port } = new URL(reg.url);
  const cpuBefore = serverCpuSeconds(reg);
  const proxyBefore = proxyCpuSeconds(reg);
  const clientBefore = process.cpuUsage();
  const result = await runLoad(
    hostname,
    Number(port),
    read.method,
    read.path,
    64,
    seconds,
    read.headers,
  );
  const client = process.cpuUsage(clientBefore);
  totals.serverCpu += serverCpuSeconds(reg) - cpuBefore;
  totals.proxyCpu += proxyCpuSeconds(reg) - proxyBefore;
  totals.clientCpuMicros += client.user + client.system;
  totals.requests += result.requests;
  totals.errors += result.errors;
  totals.seconds += result.seconds;
  for (const latency of result.latencies) totals.latencies.push(latency);
}

/**
 * Cached-read request rates at 64 connections (manifest GET by tag, blob HEAD), each registry
 * loaded for `plan.loadSeconds` in all, cut into `slices` that take turns between the registries
 * (the order rotating each slice), so a change in the machine's speed during the step falls on
 * every registry alike and the ratios between them measure the registries, not the hour. Returns
 * each registry's figures, by name.
 */
export async function requestRates(
  regs: RegistryUnderTest[],
  plan: BenchPlan,
  slices = 1,
): Promise<Map<string, Figures>> {
  const reads = new Map<RegistryUnderTest, CachedRead[]>();
  for (const reg of regs) reads.set(reg, await prepareCachedReads(reg));
  const figures = new Map<string, Figures>(regs.map((reg) => [reg.name, {}]));
  const labels = reads.get(regs[0]!)!.map((read) => read.label);
  for (const [index, label] of labels.entries()) {
    // Warm each registry's path for this read (and the client's connections) untimed.
    for (const reg of regs) {
      const read = reads.get(reg)![index]!;
      const { hostname, port } = new URL(reg.url);
      await runLoad(hostname, Number(port), read.method, read.path, 8, 0.5, read.headers);
    }
    const totals = new Map<RegistryUnderTest, LoadTotals>(
      regs.map((reg) => [
        reg,
        {
          requests: 0,
          errors: 0,
          seconds: 0,
          latencies: [],
          serverCpu: 0,
          proxyCpu: 0,
          clientCpuMicros: 0,
        },
      ]),
    );
    for (let slice = 0; slice < slices; slice += 1) {
      for (let i = 0; i < regs.length; i += 1) {
        const reg = regs[(i + slice) % regs.length]!;
        await loadSlice(reg, reads.get(reg)![index]!, plan.loadSeconds / slices, totals.get(reg)!);
      }
    }
    for (const [reg, total] of totals) {
      if (total.errors > 0) throw new Error(`${reg.name} ${label}: ${total.errors} errors`);
      const latencies = total.latencies.sort((a, b) => a - b);
      const out = figures.get(reg.name)!;
      out[`${label} req/s`] = total.requests / total.seconds;
      out[`${label} p50 ms`] = percentile(latencies, 50);
      out[`${label} p99 ms`] = percentile(latencies, 99);
      out[`${label} server CPU ms/req`] = (total.serverCpu * 1000) / total.requests;
      // The load generator runs in this process: what each request costs it, on the same cores.
      out[`${label} client CPU ms/req`] = total.clientCpuMicros / 1000 / total.requests;
      if (reg.proxyPid !== undefined)
        out[`${label} proxy CPU ms/req`] = (total.proxyCpu * 1000) / total.requests;
    }
  }
  return figures;
}

/** Walking every page (n=50) of a repository with 1000 tags (median of 5 walks after 100 untimed), ms. */
export async function tagListing(reg: RegistryUnderTest, prepared: Set<string>): Promise<Figures> {
  if (!prepared.has(reg.name)) {
    const manifest = await pushSmallImage(reg, 'bench/tags', 'seed');
    const auth = await reg.headersFor(push('bench/tags'));
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = worker; i < 1000; i += 8)
          await putManifest(
            reg.url,
            'bench/tags',
            `tag-${String(i).padStart(4, '0')}`,
            manifest,
            OCI_MANIFEST,
            auth,
          );
      }),
    );
    prepared.add(reg.name);
  }
  const { hostname, port } = new URL(reg.url);
  const connection = new KeepAliveConnection(hostname, Number(port));
  const auth = await reg.headersFor(pull('bench/tags'));
  const walk = async (): Promise<number> => {
    let tags = 0;
    let next: string | undefined = '/v2/bench/tags/tags/list?n=50';
    while (next) {
      const res = await connection.get(next, auth);
      tags += (JSON.parse(res.body.toString()) as { tags: string[] }).tags.length;
      const link = /\r\nlink: *<([^>]+)>;\s*rel="next"/i.exec(res.head);
      const url = link ? new URL(link[1]!, reg.url) : undefined;
      next = url ? url.pathname + url.search : undefined;
    }
    if (tags !== 1001) throw new Error(`${reg.name}: walked ${tags} tags, expected 1001`);
    return tags;
  };
  // Untimed walks first: a fresh process takes 10-15 ms a walk until some 2,000 page requests
  // have compiled the path (4-6 ms after), and each run starts every registry afresh.
  for (let i = 0; i < 100; i += 1) await walk();
  const walks: number[] = [];
  for (let i = 0; i < 5; i += 1) walks.push(await timed(walk));
  connection.close();
  const seconds = walks.sort((a, b) => a - b)[2]!;
  return { 'tag list 1000 tags, pages of 50, ms': seconds * 1000 };
}

/** Writes a 5-layer OCI layout of `layerBytes` random bytes per layer (real tar+gzip layers). */
export function skopeoLayout(layerBytes: number): { dir: string; tag: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-layout-'));
  const blobs = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (bytes: Buffer): { digest: string; size: number } => {
    const digest = sha256(bytes);
    writeFileSync(path.join(blobs, digest.slice(7)), bytes);
    return { digest, size: bytes.length };
  };
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < 5; i += 1) {
    const work = mkdtempSync(path.join(os.tmpdir(), 'bench-layer-'));
    writeFileSync(path.join(work, `layer${i}.bin`), randomBytes(layerBytes));
    const tar = spawnSync('tar', ['-C', work, '-cf', '-', `layer${i}.bin`], {
      maxBuffer: 1 << 30,
    }).stdout;
    const gz = spawnSync('gzip', ['-1', '-n', '-c'], { input: tar, maxBuffer: 1 << 30 }).stdout;
    rmSync(work, { recursive: true, force: true });
    diffIds.push(sha256(tar));
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gz) });
  }
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: diffIds },
        config: {},
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers,
      }),
    ),
  );
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'bench' },
        },
      ],
    }),
  );
  return { dir, tag: 'bench' };
}

/** A 5-layer image copied into the registry and back out with skopeo, seconds each. */
export async function skopeoCopy(
  reg: RegistryUnderTest,
  layout: { dir: string; tag: string },
  run: number,
): Promise<Figures> {
  const dest = `docker://${reg.host}/bench/skopeo${run}:v1`;
  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-out-'));
  // A fresh HOME per run: skopeo's blob-info cache would otherwise turn later runs into mounts.
  const home = mkdtempSync(path.join(os.tmpdir(), 'bench-home-'));
  const skopeo = (...args: string[]): void => {
    const r = spawnSync('skopeo', args, {
      encoding: 'utf8',
      env: { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'share') },
    });
    if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')}: ${r.stderr}`);
  };
  const destCreds = reg.creds ? ['--dest-creds', reg.creds] : [];
  const srcCreds = reg.creds ? ['--src-creds', reg.creds] : [];
  try {
    const copyIn = await timed(async () =>
      skopeo(
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        ...destCreds,
        `oci:${layout.dir}:${layout.tag}`,
        dest,
      ),
    );
    const copyOut = await timed(async () =>
      skopeo('copy', '--quiet', '--src-tls-verify=false', ...srcCreds, dest, `oci:${out}:v1`),
    );
    return { 'skopeo copy in s': copyIn, 'skopeo copy out s': copyOut };
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

/** skopeo copying the layout to another local layout, no registry involved: its own floor, seconds. */
export function skopeoLocalCopy(layout: { dir: string; tag: string }): number {
  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-floor-'));
  const home = mkdtempSync(path.join(os.tmpdir(), 'bench-home-'));
  const start = performance.now();
  const r = spawnSync(
    'skopeo',
    ['copy', '--quiet', `oci:${layout.dir}:${layout.tag}`, `oci:${out}:v1`],
    {
      env: { ...process.env, HOME: home },
    },
  );
  const seconds = (performance.now() - start) / 1000;
  rmSync(out, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`skopeo local copy failed: ${r.stderr.toString()}`);
  return seconds;
}
