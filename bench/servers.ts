/** Starting the two registries under test: Berth and the reference registry (CNCF distribution). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './http-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A registry process under test. */
export interface RegistryUnderTest {
  name: string;
  url: string;
  host: string;
  /** The server process (the first replica when there are several). */
  pid: number;
  /** Every server process whose CPU counts (all replicas); `[pid]` when absent. */
  pids?: number[];
  /** A proxy in front (nginx's master; its workers are its children), whose CPU is told apart. */
  proxyPid?: number;
  /**
   * The headers a client sends for `scopes`: nothing without auth; with auth a bearer token from
   * /token, cached for the workload unless `fresh` (a new client process, like each `docker push`).
   */
  headersFor(scopes: string[], fresh?: boolean): Promise<Record<string, string>>;
  /** skopeo's credentials flag value, when the registry needs one. */
  creds?: string;
  /**
   * Stops the process and starts it again on the same port and data (its `pid` changes); the
   * benchmark restarts every registry between runs in that run's order, so none is always the
   * first or the last started.
   */
  restart?(): Promise<void>;
  /** The highest peak resident memory of this registry's processes so far (all restarts), MiB. */
  peakRssMiB?(): number;
  stop(): Promise<void>;
}

const NO_HEADERS = (): Promise<Record<string, string>> => Promise.resolve({});

/** The administrator's password of every Berth the benchmarks start with auth on. */
export const BENCH_ADMIN_PASSWORD = 'bench-admin-password';

/** Fetches bearer tokens from `url`/token as the administrator, caching them per scope set. */
function tokenHeaders(url: string): RegistryUnderTest['headersFor'] {
  const basic = `Basic ${Buffer.from(`admin:${BENCH_ADMIN_PASSWORD}`).toString('base64')}`;
  const cache = new Map<string, { header: string; until: number }>();
  return async (scopes, fresh = false) => {
    const key = scopes.join(' ');
    const cached = cache.get(key);
    if (!fresh && cached && cached.until > Date.now()) return { authorization: cached.header };
    const query = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&');
    const res = await request(`${url}/token?service=berth&${query}`, 'GET', undefined, {
      authorization: basic,
    });
    if (res.status !== 200) throw new Error(`token: ${res.status} ${res.body.toString()}`);
    const header = `Bearer ${(JSON.parse(res.body.toString()) as { token: string }).token}`;
    cache.set(key, { header, until: Date.now() + 200_000 });
    return { authorization: header };
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForV2(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (child.exitCode !== null)
      throw new Error(`${url}: the registry exited with ${child.exitCode}`);
    try {
      if ([200, 401].includes((await fetch(`${url}/v2/`)).status)) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer /v2/`);
}

/** Ends `child` (SIGTERM) and waits for it to exit. */
async function endProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

/**
 * Spawns a registry with `spawnIt` on `port`, waits for it to answer, and describes it; `restart`
 * spawns it again on the same data, `stop` ends it (removing `dir` unless `keep`).
 */
async function underTest(
  name: RegistryUnderTest['name'],
  spawnIt: () => ChildProcess,
  port: number,
  dir: string,
  keep = false,
): Promise<RegistryUnderTest> {
  const url = `http://127.0.0.1:${port}`;
  let child = spawnIt();
  await waitForV2(url, child);
  let earlierPeak = 0;
  const auth = name === 'berth+auth';
  const reg: RegistryUnderTest = {
    name,
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid!,
    headersFor: auth ? tokenHeaders(url) : NO_HEADERS,
    creds: auth ? `admin:${BENCH_ADMIN_PASSWORD}` : undefined,
    peakRssMiB: () => Math.max(earlierPeak, peakRssMiB(child.pid!)),
    restart: async () => {
      earlierPeak = Math.max(earlierPeak, peakRssMiB(child.pid!));
      await endProcess(child);
      child = spawnIt();
      await waitForV2(url, child);
      reg.pid = child.pid!;
    },
    stop: async () => {
      await endProcess(child);
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
  return reg;
}

/**
 * Starts `berth serve` from this checkout's build with a fresh data directory (or `dir`, removed
 * when it stops unless `keep`), auth on or off; `env` adds configuration (a PostgreSQL URL, S3
 * storage) and `name` labels it.
 */
export async function startBerth(
  auth: 'token' | 'none',
  options: {
    env?: NodeJS.ProcessEnv;
    name?: string;
    port?: number;
    dir?: string;
    keep?: boolean;
  } = {},
): Promise<RegistryUnderTest> {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'bench-berth-'));
  const port = options.port ?? (await freePort());
  const berth = path.join(ROOT, 'bin', 'berth.js');
  const spawnIt = (): ChildProcess =>
    spawn(
      process.execPath,
      [berth, 'serve', '--data', dir, '--listen', `127.0.0.1:${port}`, '--auth', auth],
      {
        env: {
          ...process.env,
          BERTH_LOG_LEVEL: 'warn',
          BERTH_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
          ...options.env,
        },
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    );
  return underTest(
    options.name ?? (auth === 'token' ? 'berth+auth' : 'berth'),
    spawnIt,
    port,
    dir,
    options.keep,
  );
}

/** Starts the reference registry (Debian's docker-registry) with a fresh filesystem root. */
export async function startReference(): Promise<RegistryUnderTest> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ref-'));
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  cache:',
      '    blobdescriptor: inmemory',
      '  filesystem:',
      `    rootdirectory: ${dir}/data`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const spawnIt = (): ChildProcess =>
    spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'ignore'] });
  return underTest('reference', spawnIt, port, dir);
}

/** CPU seconds every server process of `reg` has used so far. */
export function serverCpuSeconds(reg: RegistryUnderTest): number {
  return (reg.pids ?? [reg.pid]).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** CPU seconds `reg`'s proxy (its master and worker processes) has used so far; 0 without one. */
export function proxyCpuSeconds(reg: RegistryUnderTest): number {
  if (reg.proxyPid === undefined) return 0;
  const workers = readFileSync(`/proc/${reg.proxyPid}/task/${reg.proxyPid}/children`, 'utf8')
    .split(' ')
    .filter(Boolean)
    .map(Number);
  return [reg.proxyPid, ...workers].reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident memory of a process, in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}
