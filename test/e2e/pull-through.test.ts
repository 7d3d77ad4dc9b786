/**
 * The pull-through cache in front of a real upstream: the reference registry (Debian's
 * docker-registry) behind a counting HTTP proxy the test controls. `docker pull` goes through the
 * cache; twenty concurrent fetches of a missing image make one upstream fetch per blob; a transfer
 * the upstream breaks mid-blob is resumed; a tag changed upstream is seen after the freshness
 * time; with the upstream gone the cached image still pulls (marked stale) and a new tag fails
 * with a clear error; an engine with Berth as its `registry-mirrors` pulls through it; pushes into
 * the cache are refused.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { startReferenceRegistry, type ReferenceRegistry } from '../helpers/reference-registry.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { waitUntil } from '../helpers/wait.js';

const TOOLS = ['dockerd', 'docker', 'busybox', 'docker-registry'];

/**
 * Runs the docker CLI without blocking this process: the counting proxy the pulls go through
 * lives here and must keep answering meanwhile.
 */
function dockerAsync(
  engine: PrivateDockerd,
  args: string[],
): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('docker', args, { env: engine.env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ status: code ?? -1, output }));
  });
}

describe('pull-through cache', { skip: skipUnlessTools(TOOLS) }, () => {
  let upstream: ReferenceRegistry;
  let proxy: CountingProxy;
  let berth: SpawnedBerth;
  let engine: PrivateDockerd;
  let data: string;
  const cachedManifest = async (name: string, reference: string) => {
    const res = await fetch(`${berth.url}/v2/${name}/manifests/${reference}`, {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    return {
      status: res.status,
      digest: res.headers.get('docker-content-digest'),
      cache: res.headers.get('x-berth-cache'),
      body: await res.text(),
    };
  };
  const layersOf = (body: string) =>
    (JSON.parse(body) as { layers: { digest: string }[]; config: { digest: string } }).layers.map(
      (l) => l.digest,
    );

  before(async () => {
    if (skipUnlessTools(TOOLS)) return;
    upstream = await startReferenceRegistry();
    proxy = await startCountingProxy(upstream.host);
    engine = await startDockerd();
    engine.docker(['build', '-q', '-t', 'local/busybox:1', busyboxContext()]);
    for (const [name, extra] of [
      ['library/busybox:1', []],
      ['library/tool:1', ['RUN head -c 3000000 /dev/urandom > /big', 'RUN echo tool > /tool']],
    ] as const) {
      const ctx = extra.length ? derivedContext('local/busybox:1', [...extra]) : busyboxContext();
      engine.docker(['build', '-q', '-t', `${upstream.host}/${name}`, ctx]);
      engine.docker(['push', `${upstream.host}/${name}`]);
    }
    data = tempDir('cache');
    const cli = (args: string[]) => {
      const r = spawnSync(process.execPath, [BERTH_BIN, ...args, '--data', data], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    // The first URL never answers: the cache falls back to the second.
    cli(['upstream', 'add', 'up', '--url', 'http://127.0.0.1:1', '--url', `http://${proxy.host}`]);
    cli(['cache', 'add', 'hub', '--upstream', 'up', '--freshness', '3', '--mirror']);
    berth = await spawnBerth({ data });
  });
  after(async () => {
    await engine?.stop();
    await berth?.stop();
    await proxy?.stop();
    await upstream?.stop();
    if (data) removeDir(data);
  });

  it('pulls an image through the cache with docker, and refuses pushes into it', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const ref = `${berth.host}/hub/library/busybox:1`;
    const pulled = await dockerAsync(engine, ['pull', ref]);
    assert.equal(pulled.status, 0, pulled.output);
    const again = await cachedManifest('hub/library/busybox', '1');
    assert.equal(again.status, 200);
    assert.equal(again.cache, 'hit');
    // Pushes into the cache are refused (it mirrors its upstream).
    const push = await fetch(`${berth.url}/v2/hub/library/mine/blobs/uploads/`, { method: 'POST' });
    assert.equal(push.status, 403);
    assert.match(await push.text(), /pull-through cache namespace: it mirrors its upstream/);
  });

  it('fetches each blob once for twenty concurrent clients, the first streamed as it is stored', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const manifest = await cachedManifest('hub/library/tool', '1');
    assert.equal(manifest.status, 200, manifest.body);
    assert.equal(manifest.cache, 'fetched');
    const layers = layersOf(manifest.body);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        Promise.all(
          layers.map(async (digest) => {
            const res = await fetch(`${berth.url}/v2/hub/library/tool/blobs/${digest}`);
            const bytes = Buffer.from(await res.arrayBuffer());
            const { createHash } = await import('node:crypto');
            return (
              res.status === 200 &&
              `sha256:${createHash('sha256').update(bytes).digest('hex')}` === digest
            );
          }),
        ),
      ),
    );
    assert.ok(results.flat().every(Boolean), 'every client got every blob, intact');
    for (const digest of layers)
      assert.equal(proxy.blobGets(digest), 1, `one upstream fetch of ${digest}`);
  });

  it('resumes a blob transfer the upstream breaks part way', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    engine.docker([
      'build',
      '-q',
      '-t',
      `${upstream.host}/library/resume:1`,
      derivedContext('local/busybox:1', ['RUN head -c 4000000 /dev/urandom > /data']),
    ]);
    engine.docker(['push', `${upstream.host}/library/resume:1`]);
    const manifest = await cachedManifest('hub/library/resume', '1');
    const big = layersOf(manifest.body).at(-1)!;
    proxy.breakOnce(`/v2/library/resume/blobs/${big}`, 1_000_000);
    const res = await fetch(`${berth.url}/v2/hub/library/resume/blobs/${big}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const { createHash } = await import('node:crypto');
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, big);
    assert.equal(proxy.blobGets(big), 2, 'the broken transfer, then the rest by range');
  });

  it('sees a tag changed upstream once the freshness time has passed', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const before = (await cachedManifest('hub/library/busybox', '1')).digest;
    engine.docker([
      'build',
      '-q',
      '-t',
      `${upstream.host}/library/busybox:1`,
      derivedContext('local/busybox:1', ['RUN echo v2 > /v2']),
    ]);
    engine.docker(['push', `${upstream.host}/library/busybox:1`]);
    await waitUntil(async () => {
      const now = await cachedManifest('hub/library/busybox', '1');
      return now.digest !== before && now.cache === 'fetched';
    }, 'the new digest after the freshness time');
  });

  it('keeps serving the cached image with the upstream down, and says why a new tag fails', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    proxy.setDown(true);
    try {
      await waitUntil(
        async () => (await cachedManifest('hub/library/busybox', '1')).cache === 'stale',
        'a stale answer',
      );
      engine.docker(['rmi', '-f', `${berth.host}/hub/library/busybox:1`]);
      const pulled = await dockerAsync(engine, ['pull', `${berth.host}/hub/library/busybox:1`]);
      assert.equal(pulled.status, 0, pulled.output);
      const missing = await dockerAsync(engine, ['pull', `${berth.host}/hub/library/busybox:2`]);
      assert.notEqual(missing.status, 0);
      assert.match(
        missing.output,
        /manifest unknown: .*not cached, and the upstream could not be asked/,
      );
      const metrics = await (await fetch(`${berth.url}/metrics`)).text();
      assert.match(metrics, /berth_cache_manifest_results_total\{outcome="stale"\} [1-9]/);
    } finally {
      proxy.setDown(false);
    }
  });

  it('serves a Docker engine that has Berth as its registry-mirrors', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const mirrored = await startDockerd(['--registry-mirror', `http://${berth.host}`]);
    try {
      const pulled = await dockerAsync(mirrored, ['pull', 'library/tool:1']);
      assert.equal(pulled.status, 0, pulled.output);
      assert.match(
        mirrored.docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']),
        /tool:1/,
      );
    } finally {
      await mirrored.stop();
    }
  });
});
