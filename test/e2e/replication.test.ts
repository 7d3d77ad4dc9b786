/**
 * Replication between real registries: a multi-platform image (a manifest list made with
 * `docker manifest`) and a referrer artifact naming it are pushed from Berth to a second Berth
 * (with accounts) and to the reference registry, byte for byte; a tag pushed later follows by
 * itself, and a deleted tag is deleted on the other side when the rule says so; a pull rule brings
 * an image from the reference registry into Berth on its schedule. Rules and runs are made with
 * the `berth replicate` commands on the data directory of the running server.
 */
import assert from 'node:assert/strict';
import { signedInPage } from '../helpers/browser.js';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/client/index.js';
import { blob, configBlob, ociManifest } from '../helpers/content.js';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { pushBlobOverHttp, putManifestOverHttp } from '../helpers/http-calls.js';
import { startReferenceRegistry, type ReferenceRegistry } from '../helpers/reference-registry.js';
import { BERTH_BIN, removeDir, spawnBerth, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';
import { waitUntil } from '../helpers/wait.js';
import { startCountingProxy } from '../helpers/counting-proxy.js';

const TOOLS = ['dockerd', 'docker', 'busybox', 'docker-registry'];
const B_PASSWORD = 'replica-admin-password';

describe('replication', { skip: skipUnlessTools(TOOLS) }, () => {
  let a: SpawnedBerth;
  let b: SpawnedBerth;
  let reference: ReferenceRegistry;
  let engine: PrivateDockerd;
  let clientA: RegistryClient;
  let clientB: RegistryClient;
  let clientRef: RegistryClient;
  let indexDigest: string;
  let artifactDigest: string;
  const berth = (args: string[], input?: string) => {
    const r = spawnSync(process.execPath, [BERTH_BIN, ...args, '--data', a.data], {
      encoding: 'utf8',
      input,
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const executions = (rule: string) =>
    JSON.parse(berth(['replicate', 'executions', rule, '--json'])) as {
      id: number;
      state: string;
      trigger: string;
    }[];

  before(async () => {
    if (skipUnlessTools(TOOLS)) return;
    a = await spawnBerth();
    b = await spawnBerth({ auth: 'token', adminPassword: B_PASSWORD });
    reference = await startReferenceRegistry();
    clientA = new RegistryClient(a.host);
    clientB = new RegistryClient(b.host, {
      credentials: { kind: 'basic', username: 'admin', password: B_PASSWORD },
    });
    clientRef = new RegistryClient(reference.host);
    engine = await startDockerd();
    // Two single-platform images, then a manifest list naming both (docker manifest).
    engine.docker(['build', '-q', '-t', `${a.host}/alice/multi:amd64`, busyboxContext()]);
    engine.docker([
      'build',
      '-q',
      '-t',
      `${a.host}/alice/multi:arm64`,
      derivedContext(`${a.host}/alice/multi:amd64`, ['RUN echo arm > /arch']),
    ]);
    for (const tag of ['amd64', 'arm64']) engine.docker(['push', `${a.host}/alice/multi:${tag}`]);
    engine.docker([
      'manifest',
      'create',
      '--insecure',
      `${a.host}/alice/multi:1`,
      `${a.host}/alice/multi:amd64`,
      `${a.host}/alice/multi:arm64`,
    ]);
    engine.docker([
      'manifest',
      'annotate',
      '--arch',
      'arm64',
      `${a.host}/alice/multi:1`,
      `${a.host}/alice/multi:arm64`,
    ]);
    const pushed = engine.docker(['manifest', 'push', '--insecure', `${a.host}/alice/multi:1`]);
    indexDigest = /sha256:[0-9a-f]{64}/.exec(pushed)![0];
    // A referrer: an SBOM-like artifact whose subject is the index.
    const config = configBlob();
    const sbom = blob('{"sbom":"busybox"}');
    for (const part of [config, sbom]) await pushBlobOverHttp(a.url, 'alice/multi', part);
    const index = await clientA.getManifest('alice/multi', indexDigest);
    const artifact = ociManifest(config, [sbom], {
      artifactType: 'application/vnd.example.sbom+json',
      subject: { mediaType: index.mediaType, digest: indexDigest, size: index.bytes.length },
    });
    assert.equal(await putManifestOverHttp(a.url, 'alice/multi', artifact.digest, artifact), 201);
    artifactDigest = artifact.digest;
    berth(
      [
        'upstream',
        'add',
        'replica',
        '--url',
        `http://${b.host}`,
        '--username',
        'admin',
        '--password-stdin',
      ],
      B_PASSWORD,
    );
    berth(['upstream', 'add', 'reference', '--url', `http://${reference.host}`]);
  });
  after(async () => {
    await engine?.stop();
    for (const s of [a, b])
      if (s) {
        await s.stop();
        removeDir(s.data);
      }
    await reference?.stop();
  });

  it('pushes a multi-platform image and its referrer to a second Berth and the reference registry, byte for byte', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    berth([
      'replicate',
      'add',
      'to-replica',
      '--direction',
      'push',
      '--upstream',
      'replica',
      '--repo',
      'alice/**',
      '--tags',
      '1|2',
      '--propagate-deletes',
    ]);
    berth([
      'replicate',
      'add',
      'to-reference',
      '--direction',
      'push',
      '--upstream',
      'reference',
      '--repo',
      'alice/**',
      '--tags',
      '1',
      '--no-on-push',
    ]);
    berth(['replicate', 'run', 'to-replica']);
    berth(['replicate', 'run', 'to-reference']);
    for (const rule of ['to-replica', 'to-reference'])
      await waitUntil(
        () => executions(rule).some((e) => e.trigger === 'manual' && e.state === 'succeeded'),
        `${rule} to succeed`,
        120_000,
      );
    const original = await clientA.getManifest('alice/multi', '1');
    for (const other of [clientB, clientRef]) {
      const copy = await other.getManifest('alice/multi', '1');
      assert.ok(copy.bytes.equals(original.bytes), `${other.registry}: the index, byte for byte`);
      assert.equal(copy.digest, indexDigest);
      assert.ok(
        await other.hasManifest('alice/multi', artifactDigest),
        `${other.registry}: the referrer`,
      );
    }
    const referrers = await clientB.referrers('alice/multi', indexDigest);
    assert.deepEqual(
      referrers.map((r) => r.digest),
      [artifactDigest],
      'the second Berth answers the referrers API for it',
    );
    const manual = executions('to-replica').find(
      (e) => e.trigger === 'manual' && e.state === 'succeeded',
    )!;
    const log = berth(['replicate', 'log', String(manual.id)]);
    assert.match(log, /copy alice\/multi:1: done/);
  });

  it('follows a pushed tag by itself, and deletes it on the other side when it is deleted', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    engine.docker(['tag', `${a.host}/alice/multi:amd64`, `${a.host}/alice/multi:2`]);
    engine.docker(['push', `${a.host}/alice/multi:2`]);
    await waitUntil(() => clientB.hasManifest('alice/multi', '2'), 'tag 2 on the second Berth');
    assert.ok(!(await clientRef.hasManifest('alice/multi', '2')), 'not where the rule excludes it');
    const deleted = await fetch(`${a.url}/v2/alice/multi/manifests/2`, { method: 'DELETE' });
    assert.equal(deleted.status, 202);
    await waitUntil(
      async () => !(await clientB.hasManifest('alice/multi', '2')),
      'tag 2 gone there too',
    );
    assert.ok(await clientB.hasManifest('alice/multi', '1'), 'the other tag stays');
  });

  it('pulls from the reference registry into Berth on a schedule', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    engine.docker(['tag', `${a.host}/alice/multi:amd64`, `${reference.host}/library/pulled:1`]);
    engine.docker(['push', `${reference.host}/library/pulled:1`]);
    berth([
      'replicate',
      'add',
      'from-reference',
      '--direction',
      'pull',
      '--upstream',
      'reference',
      '--repo',
      'library/**',
      '--destination',
      'mirror/',
      '--every',
      '10',
      '--no-on-push',
    ]);
    await waitUntil(
      () => clientA.hasManifest('mirror/library/pulled', '1'),
      'the scheduled pull',
      90_000,
    );
    const there = await clientRef.getManifest('library/pulled', '1');
    const here = await clientA.getManifest('mirror/library/pulled', '1');
    assert.ok(here.bytes.equals(there.bytes));
    await waitUntil(
      () =>
        executions('from-reference').some(
          (e) => e.trigger === 'schedule' && e.state === 'succeeded',
        ),
      'the scheduled execution to succeed',
    );
  });

  it('resumes a blob transfer the source breaks part way', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const proxy = await startCountingProxy(reference.host);
    try {
      engine.docker([
        'build',
        '-q',
        '-t',
        `${reference.host}/library/big:1`,
        derivedContext(`${a.host}/alice/multi:amd64`, ['RUN head -c 3000000 /dev/urandom > /big']),
      ]);
      engine.docker(['push', `${reference.host}/library/big:1`]);
      const manifest = JSON.parse(
        (await clientRef.getManifest('library/big', '1')).bytes.toString(),
      ) as { layers: { digest: string; size: number }[] };
      const big = manifest.layers.reduce((x, y) => (y.size > x.size ? y : x));
      proxy.breakOnce(`/v2/library/big/blobs/${big.digest}`, 1_000_000);
      berth(['upstream', 'add', 'flaky', '--url', `http://${proxy.host}`]);
      berth([
        'replicate',
        'add',
        'resume',
        '--direction',
        'pull',
        '--upstream',
        'flaky',
        '--repo',
        'library/big',
        '--destination',
        'resumed/',
        '--no-on-push',
      ]);
      berth(['replicate', 'run', 'resume']);
      // Polled without blocking this process: the proxy answers from here.
      await waitUntil(
        () => clientA.hasManifest('resumed/library/big', '1'),
        'the pulled image',
        90_000,
      );
      // The image lands a moment before the execution records its end.
      await waitUntil(
        () => executions('resume').some((e) => e.state === 'succeeded'),
        'the execution to succeed',
      );
      assert.equal(proxy.blobGets(big.digest), 2, 'the broken transfer, then the rest by range');
    } finally {
      await proxy.stop();
    }
  });

  it('adds an upstream and a cache on the Replication page, and tests the connection, in Chromium', async (t) => {
    if (!needTools(t, ...TOOLS, 'chromium')) return;
    const { page, close } = await signedInPage(`${b.url}`, 'admin', B_PASSWORD);
    try {
      await page.getByRole('link', { name: 'Replication' }).click();
      const upstreamForm = page.getByRole('form', { name: 'Add an upstream' });
      await upstreamForm.getByLabel('Name', { exact: true }).fill('reference');
      await upstreamForm.getByLabel('URLs').fill(`http://${reference.host}`);
      await upstreamForm.getByRole('button', { name: 'Save upstream' }).click();
      const row = page
        .getByRole('table', { name: 'Upstreams' })
        .getByRole('row', { name: /reference/ });
      await row.getByRole('button', { name: 'Test connection' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `reference answers at ${reference.host}` })
        .waitFor();
      const cacheForm = page.getByRole('form', { name: 'Add a cache' });
      await cacheForm.getByLabel('Namespace').fill('cached');
      await cacheForm.getByLabel('Upstream', { exact: true }).fill('reference');
      await cacheForm.getByRole('button', { name: 'Save cache' }).click();
      await page
        .getByRole('table', { name: 'Cache namespaces' })
        .getByRole('row', { name: /cached\// })
        .waitFor();
    } finally {
      await close();
    }
    // The cache just made serves the reference registry's image through the second Berth.
    assert.ok(await clientB.hasManifest('cached/library/pulled', '1'));
  });
});
