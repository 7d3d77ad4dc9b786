/**
 * Large repositories and start-up: a data directory with 100,000 tags in one repository and
 * 50,000 repositories (rows written straight into a migrated SQLite database, the way a registry
 * grows), then over loopback with keep-alive: a tags page, a catalog page, docker search, the web
 * UI's repository list and search, and one tag's page of details; time from process start to
 * answering `/v2/` on that directory; `berth --version`; idle RSS after start. Medians of repeated
 * requests (each request's server time is the client's loopback time less nothing: they are
 * upper bounds). `--tags N`, `--repositories N` change the size; `--keep DIR` fills DIR (once)
 * and keeps it, for profiling.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BENCH_ADMIN_PASSWORD, startBerth } from './servers.js';
import { median } from './workloads.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const TAGS = arg('tags', 100_000);
const REPOSITORIES = arg('repositories', 50_000);
const ROOT = path.resolve(import.meta.dirname, '..');
const BERTH = path.join(ROOT, 'bin', 'berth.js');

/** Writes the repositories, manifests and tags into the migrated database of `dir`. */
function fill(dir: string): void {
  const db = new Database(path.join(dir, 'berth.db'));
  db.pragma('journal_mode = WAL');
  const now = Date.now();
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${'0'.repeat(64)}`,
        size: 2,
      },
      layers: [],
    }),
  );
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const addRepo = db.prepare(
    'insert into repositories (name, created_at, visibility) values (?, ?, ?)',
  );
  const addManifest = db.prepare(
    'insert into manifests (repository_id, digest, media_type, size, content, created_at) values (?, ?, ?, ?, ?, ?)',
  );
  const addTag = db.prepare(
    'insert into tags (repository_id, name, manifest_digest, updated_at) values (?, ?, ?, ?)',
  );
  db.transaction(() => {
    const big = Number(addRepo.run('big/app', now, 'public').lastInsertRowid);
    addManifest.run(
      big,
      digest,
      'application/vnd.oci.image.manifest.v1+json',
      manifest.length,
      manifest,
      now,
    );
    for (let i = 0; i < TAGS; i++) addTag.run(big, `v${i}`, digest, now + i);
    for (let i = 0; i < REPOSITORIES; i++) {
      const id = Number(addRepo.run(`ns${i % 100}/repo${i}`, now, 'public').lastInsertRowid);
      addManifest.run(
        id,
        digest,
        'application/vnd.oci.image.manifest.v1+json',
        manifest.length,
        manifest,
        now,
      );
      addTag.run(id, 'latest', digest, now);
    }
  })();
  db.close();
}

async function timed(
  url: (attempt: number) => string,
  headers: Record<string, string>,
  times = 21,
): Promise<{ median: number; status: number }> {
  const ms: number[] = [];
  let status = 0;
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    const res = await fetch(url(i), { headers });
    const body = Buffer.from(await res.arrayBuffer());
    status = res.status;
    // A refusal's time is no figure (a wrong password's is argon2's, then the login limit's).
    if (status !== 200)
      throw new Error(`${url(i)} answered ${status}: ${body.toString().slice(0, 200)}`);
    ms.push(performance.now() - start);
  }
  return { median: median(ms.slice(1)), status };
}

/**
 * Milliseconds from spawning `berth serve` on `dir` with `auth` to its first answer to `/v2/`
 * (200 without auth, 401 with it).
 */
async function startupMs(dir: string, auth: 'none' | 'token'): Promise<number> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [BERTH, 'serve', '--data', dir, '--listen', '127.0.0.1:0', '--auth', auth],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      // The administrator the first start with auth creates is the one the timed requests use.
      env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD },
    },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving the registry on (?:https?:\/\/)?(\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error('berth exited before listening')));
  });
  const answered = auth === 'none' ? 200 : 401;
  for (;;) {
    try {
      if ((await fetch(`http://${address}/v2/`)).status === answered) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - started;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return ms;
}

async function main(): Promise<void> {
  const keepAt = process.argv.indexOf('--keep');
  const kept = keepAt >= 0 ? path.resolve(process.argv[keepAt + 1]!) : undefined;
  const dir = kept ?? mkdtempSync(path.join(os.tmpdir(), 'bench-large-'));
  if (!kept || !existsSync(path.join(dir, 'berth.db'))) {
    mkdirSync(dir, { recursive: true });
    spawnSync(process.execPath, [BERTH, 'migrate', '--data', dir], { stdio: 'inherit' });
    const filling = performance.now();
    fill(dir);
    process.stderr.write(`filled in ${((performance.now() - filling) / 1000).toFixed(1)} s\n`);
  }

  // Start-up: from spawn to /v2/ answering, on the filled directory, without auth and with token
  // auth (the default), in turn (median of 3 each).
  const startups: Record<'none' | 'token', number[]> = { none: [], token: [] };
  for (let i = 0; i < 3; i++)
    for (const mode of ['none', 'token'] as const) startups[mode].push(await startupMs(dir, mode));
  const version: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    spawnSync(process.execPath, [BERTH, '--version']);
    version.push(performance.now() - start);
  }

  // With accounts, as the web UI needs them; the repositories are public, so reads need no token.
  const berth = await startBerth('token', { dir, keep: kept !== undefined });
  const admin = { authorization: `Basic ${Buffer.from(berth.creds!).toString('base64')}` };
  try {
    await new Promise((r) => setTimeout(r, 2_000));
    const idleRss =
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${berth.pid}/status`, 'utf8'))?.[1]) / 1024;
    // Each tags page from another tag near the middle: pages of up to 250 names are cached, and
    // this times the database's page, not the cache's.
    const mid = (attempt: number) => `v${Math.floor(TAGS / 2) + attempt}`;
    const rows: [string, string | ((attempt: number) => string), number][] = [
      ['tags page (n=100, last=middle)', (i) => `/v2/big/app/tags/list?n=100&last=${mid(i)}`, 20],
      ['catalog page (n=100, last=middle)', `/v2/_catalog?n=100&last=ns50/repo25000`, 20],
      ['docker search', `/v1/search?q=repo2500&n=25`, 50],
      ['UI repository list', `/api/v1/catalog?n=50`, 100],
      ['UI repository search', `/api/v1/catalog?n=50&q=repo2500`, 50],
      ['UI tag list of big/app (first page)', `/api/v1/images/big/app/tags?n=100`, 100],
    ];
    process.stdout.write(`${TAGS} tags in one repository, ${REPOSITORIES} repositories\n`);
    process.stdout.write(
      'request                                   median ms  target ms  status\n',
    );
    const figures: Record<string, number> = {};
    for (const [label, p, target] of rows) {
      const pathOf = typeof p === 'string' ? () => p : p;
      const r = await timed(
        (i) => `${berth.url}${pathOf(i)}`,
        pathOf(0).startsWith('/api/') ? admin : {},
      );
      figures[label] = r.median;
      process.stdout.write(
        `${label.padEnd(42)} ${r.median.toFixed(1).padStart(9)} ${String(target).padStart(10)}  ${r.status}\n`,
      );
    }
    figures['start-up to /v2/ ms'] = median(startups.none);
    figures['start-up to /v2/ with auth ms'] = median(startups.token);
    figures['berth --version ms'] = median(version);
    figures['idle RSS MiB'] = idleRss;
    process.stdout.write(
      `start-up to /v2/: ${median(startups.none).toFixed(0)} ms, with token auth ${median(startups.token).toFixed(0)} ms (target 400); berth --version: ${median(version).toFixed(0)} ms (target 300); idle RSS: ${idleRss.toFixed(0)} MiB (target 80)\n`,
    );
    process.stdout.write(`${JSON.stringify({ large: figures })}\n`);
  } finally {
    await berth.stop();
  }
}

await main();
