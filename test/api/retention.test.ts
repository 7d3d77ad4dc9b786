/**
 * Retention in-process (and on PostgreSQL in its pass), on 54 tags with mixed rules and a mocked
 * clock: the dry run lists exactly what the rules say goes and removes nothing; the run removes
 * the same tags into the trash (a `retention.removed` event each) and protects an immutable tag,
 * the child of a kept index and two images a control-plane node runs; garbage collection leaves trashed manifests alone; a restored
 * tag pulls whole; once the restore window has passed the trash is emptied and collection frees
 * the bytes. Namespace administrators manage their own policies; others cannot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { Readable } from 'node:stream';
import { RetentionEngine, RetentionScheduler } from '../../src/retention/index.js';
import { createLogger } from '../../src/obs/index.js';
import { ADMIN, api, apiOk, createUsers } from '../helpers/accounts.js';
import { blob, configBlob, ociIndex, ociManifest, type TestBlob } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { waitUntil } from '../helpers/wait.js';

const DAY = 86_400_000;
const REPO = 'acme/app';

describe('retention', () => {
  let t: TestApp;
  let u: Record<string, string>;
  let policyId: number;
  const start = Date.now() - 60 * DAY;
  const at = (day: number) => mock.timers.setTime(start + day * DAY);
  const images = new Map<string, { manifest: TestBlob; layer: TestBlob }>();

  before(async () => {
    t = await testApp({ auth: { mode: 'token' } });
    u = await createUsers(t.app, ['erin', 'frank']);
    mock.timers.enable({ apis: ['Date'], now: start });
  });
  after(async () => {
    mock.timers.reset();
    await t.close();
  });

  const manifestPut = (reference: string, m: TestBlob, type: string) =>
    t.app.inject({
      method: 'PUT',
      url: `/v2/${REPO}/manifests/${reference}`,
      headers: { authorization: ADMIN, 'content-type': type },
      payload: m.bytes,
    });
  const pushImage = async (tag: string) => {
    const config = configBlob({ tag });
    const layer = blob(`layer of ${tag}`);
    for (const b of [config, layer])
      await t.berth.registry.uploads.monolithic(REPO, b.digest, Readable.from([b.bytes]));
    const manifest = ociManifest(config, [layer]);
    const res = await manifestPut(tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(res.statusCode, 201, res.body);
    images.set(tag, { manifest, layer });
    return manifest;
  };
  const tagsNow = async () =>
    (await apiOk(t.app, 200, 'GET', `/v2/${REPO}/tags/list?n=1000`, ADMIN)).json<{
      tags: string[];
    }>().tags;

  it('builds 54 tags over fifty days', async () => {
    let day = 0;
    // 30 semver tags, oldest first: v1.0.0 … v1.5.4.
    for (let minor = 0; minor < 6; minor++)
      for (let patch = 0; patch < 5; patch++) {
        at(day++ * 0.5);
        await pushImage(`v1.${minor}.${patch}`);
      }
    for (let n = 0; n < 15; n++) {
      at(20 + n);
      await pushImage(`build-${n}`);
    }
    for (const [i, name] of ['release-a', 'release-b', 'release-c'].entries()) {
      at(1 + i);
      await pushImage(name);
    }
    at(2);
    await pushImage('pinned');
    // An index kept by name, whose child is tagged too.
    at(3);
    const child = await pushImage('multi-amd64');
    const index = ociIndex([{ manifest: child, architecture: 'amd64' }]);
    assert.equal(
      (await manifestPut('multi', index, 'application/vnd.oci.image.index.v1+json')).statusCode,
      201,
    );
    at(4);
    await pushImage('old-pulled');
    await pushImage('old-unpulled');
    at(48);
    await pushImage('latest');
    // old-pulled is pulled on day 47.
    at(47);
    const pulled = await t.app.inject({
      method: 'GET',
      url: `/v2/${REPO}/manifests/old-pulled`,
      headers: { authorization: ADMIN, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pulled.statusCode, 200);
    await t.berth.registry.pulls.flush();
    // A control-plane node runs build-0 (by tag) and v1.0.0 (by the digest its image came from).
    await t.berth.meta.cluster.addNode({
      id: 'node-1',
      name: 'node-1',
      labels: {},
      engine: {},
      certificate: '',
      certSerial: '1',
      availability: 'active',
      engineOk: true,
      engineError: null,
      memFree: null,
      joinedAt: Date.now(),
      lastSeen: Date.now(),
      revokedAt: null,
    });
    await t.berth.meta.cluster.saveInventory(
      'node-1',
      {
        at: Date.now(),
        containers: [
          { id: 'c1', image: `registry.example:5000/${REPO}:build-0`, imageId: 'sha256:one' },
          { id: 'c2', image: 'sha256:two', imageId: 'sha256:two' },
        ],
        images: [
          {
            id: 'sha256:two',
            repoTags: [],
            repoDigests: [`registry.example:5000/${REPO}@${images.get('v1.0.0')!.manifest.digest}`],
          },
        ],
        swarm: null,
      },
      Date.now(),
    );
    await apiOk(t.app, 201, 'POST', '/api/v1/immutable-tags', ADMIN, {
      scope: REPO,
      patterns: ['pinned'],
    });
    assert.equal((await tagsNow()).length, 54);
  });

  // The newest patch of each minor, the newest 3 builds, release-* and multi by name, pulled
  // within 7 days, pushed within 3 days; pinned is immutable and multi-amd64 is in a kept index.
  const kept = [
    ...[0, 1, 2, 3, 4, 5].map((minor) => `v1.${minor}.4`),
    'build-12',
    'build-13',
    'build-14',
    'release-a',
    'release-b',
    'release-c',
    'multi',
    'old-pulled',
    'latest',
  ];
  const protectedTags = ['build-0', 'multi-amd64', 'pinned', 'v1.0.0'];
  const expectedRemoved = (all: string[]) =>
    all.filter((tag) => !kept.includes(tag) && !protectedTags.includes(tag)).sort();

  it('refuses policies from those who do not administer the scope, and checks the rules', async () => {
    const body = { scope: 'acme/', rules: [{ keep: 'newest', count: 1 }] };
    assert.equal(
      (await api(t.app, 'POST', '/api/v1/retention/policies', u.erin, body)).statusCode,
      403,
    );
    await apiOk(t.app, 201, 'POST', '/api/v1/orgs', u.erin, { name: 'erinorg' });
    await apiOk(t.app, 201, 'POST', '/api/v1/retention/policies', u.erin, {
      scope: 'erinorg/',
      rules: [{ keep: 'newest', count: 1 }],
    });
    const mine = (await apiOk(t.app, 200, 'GET', '/api/v1/retention/policies', u.frank)).json<
      unknown[]
    >();
    assert.equal(mine.length, 0, 'frank administers nothing');
    for (const rules of [
      [],
      [{ keep: 'newest' }],
      [{ keep: 'matching', tags: '(' }],
      [{ keep: 'forever' }],
    ])
      assert.equal(
        (await api(t.app, 'POST', '/api/v1/retention/policies', ADMIN, { scope: REPO, rules }))
          .statusCode,
        400,
      );
  });

  it('lists exactly what would go in a dry run, and removes nothing', async () => {
    at(50);
    const created = await apiOk(t.app, 201, 'POST', '/api/v1/retention/policies', ADMIN, {
      scope: 'acme/',
      rules: [
        { keep: 'newest', count: 3, tags: 'build-.*' },
        { keep: 'newestPerMinor', count: 1 },
        { keep: 'matching', tags: 'release-.*|multi' },
        { keep: 'pulledWithin', days: 7 },
        { keep: 'pushedWithin', days: 3 },
      ],
      restoreDays: 7,
    });
    policyId = created.json<{ id: number }>().id;
    const all = await tagsNow();
    const dry = (
      await apiOk(t.app, 200, 'POST', `/api/v1/retention/policies/${policyId}/run`, ADMIN, {
        dryRun: true,
      })
    ).json<{
      dryRun: boolean;
      repositories: {
        repository: string;
        removed: { tag: string }[];
        protected: { tag: string; reason: string }[];
        kept: { tag: string }[];
      }[];
    }>();
    assert.equal(dry.dryRun, true);
    const verdict = dry.repositories.find((r) => r.repository === REPO)!;
    assert.deepEqual(verdict.removed.map((r) => r.tag).sort(), expectedRemoved(all));
    assert.equal(expectedRemoved(all).length, 54 - kept.length - protectedTags.length);
    assert.deepEqual(verdict.kept.map((k) => k.tag).sort(), [...kept].sort());
    assert.deepEqual(verdict.protected.map((p) => `${p.tag}: ${p.reason}`).sort(), [
      'build-0: run by a control-plane node',
      'multi-amd64: listed by a kept index',
      'pinned: immutable',
      'v1.0.0: run by a control-plane node',
    ]);
    assert.equal((await tagsNow()).length, 54, 'a dry run removes nothing');
  });

  it('removes them into the trash with events; GC leaves them; a restored tag pulls whole', async () => {
    const all = await tagsNow();
    const report = (
      await apiOk(t.app, 200, 'POST', `/api/v1/retention/policies/${policyId}/run`, ADMIN, {})
    ).json<{ removed: number }>();
    assert.equal(report.removed, expectedRemoved(all).length);
    assert.deepEqual(
      (await tagsNow()).sort(),
      all.filter((x) => !expectedRemoved(all).includes(x)).sort(),
    );
    const trash = (await apiOk(t.app, 200, 'GET', '/api/v1/retention/trash', ADMIN)).json<
      { id: number; tag: string; digest: string }[]
    >();
    assert.deepEqual(trash.map((x) => x.tag).sort(), expectedRemoved(all));
    await waitUntil(async () => {
      const res = await api(
        t.app,
        'GET',
        '/api/v1/audit?action=retention.remove&limit=1000',
        ADMIN,
      );
      return res.json<{ entries: unknown[] }>().entries.length === expectedRemoved(all).length;
    }, 'a retention.remove audit entry per removed tag');
    const gc = await t.berth.registry.gc.collect({
      dryRun: false,
      deleteUntagged: true,
      graceMs: 0,
    });
    const trashed = new Set(trash.map((x) => x.digest));
    assert.ok(!gc.manifests.some((m) => trashed.has(m.digest)), 'trashed manifests are kept');
    const item = trash.find((x) => x.tag === 'v1.2.0')!;
    await apiOk(t.app, 200, 'POST', `/api/v1/retention/trash/${item.id}/restore`, ADMIN);
    const image = images.get('v1.2.0')!;
    const manifest = await t.app.inject({
      method: 'GET',
      url: `/v2/${REPO}/manifests/v1.2.0`,
      headers: { authorization: ADMIN, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(manifest.statusCode, 200);
    assert.deepEqual(manifest.rawPayload, image.manifest.bytes);
    const layer = await t.app.inject({
      method: 'GET',
      url: `/v2/${REPO}/blobs/${image.layer.digest}`,
      headers: { authorization: ADMIN },
    });
    assert.deepEqual(layer.rawPayload, image.layer.bytes);
    const again = await api(t.app, 'POST', `/api/v1/retention/trash/${item.id}/restore`, ADMIN);
    assert.equal(again.statusCode, 404);
  });

  it('empties the trash after the restore window, and collection then frees the bytes', async () => {
    const registry = t.berth.registry;
    const engine = new RetentionEngine(t.berth.meta, {
      immutable: async () => false,
      tagsChanged: (id, tags) => registry.tagsChanged(id, tags),
      events: { committed: () => {} },
    });
    at(56);
    assert.equal(await engine.purge(), 0, 'nothing has expired yet');
    at(58);
    const left = (await apiOk(t.app, 200, 'GET', '/api/v1/retention/trash', ADMIN)).json<
      unknown[]
    >();
    assert.equal(await engine.purge(), left.length);
    assert.equal(
      (await apiOk(t.app, 200, 'GET', '/api/v1/retention/trash', ADMIN)).json<unknown[]>().length,
      0,
    );
    const gone = images.get('v1.0.1')!;
    const gc = await registry.gc.collect({ dryRun: false, deleteUntagged: true, graceMs: 0 });
    assert.ok(
      gc.blobs.some((b) => b.digest === gone.layer.digest),
      'the layer is freed',
    );
    const res = await t.app.inject({
      method: 'GET',
      url: `/v2/${REPO}/manifests/${gone.manifest.digest}`,
      headers: { authorization: ADMIN },
    });
    assert.equal(res.statusCode, 404);
  });

  it('runs a scheduled policy once its time has come, once across schedulers', async () => {
    const registry = t.berth.registry;
    const engine = new RetentionEngine(t.berth.meta, {
      immutable: async () => false,
      tagsChanged: (id, tags) => registry.tagsChanged(id, tags),
      events: { committed: () => {} },
    });
    at(60);
    await pushImage('sched-old');
    at(61);
    await pushImage('sched-new');
    const created = await apiOk(t.app, 201, 'POST', '/api/v1/retention/policies', ADMIN, {
      scope: REPO,
      rules: [
        { keep: 'newest', count: 1, tags: 'sched-.*' },
        { keep: 'matching', tags: '(?!sched-).*' },
      ],
      everyHours: 24,
    });
    const id = created.json<{ id: number }>().id;
    const schedulers = [0, 1].map(
      () => new RetentionScheduler(t.berth.meta, engine, createLogger('silent')),
    );
    const scheduledRuns = async () =>
      (await apiOk(t.app, 200, 'GET', `/api/v1/retention/runs?policy=${id}`, ADMIN))
        .json<{ trigger: string }[]>()
        .filter((r) => r.trigger === 'schedule').length;
    at(61.5);
    await Promise.all(schedulers.map((s) => s.tick()));
    assert.equal(await scheduledRuns(), 0, 'not due before 24 hours');
    at(62.1);
    await Promise.all(schedulers.map((s) => s.tick()));
    assert.equal(await scheduledRuns(), 1, 'due, and run by one scheduler only');
    assert.ok(!(await tagsNow()).includes('sched-old'));
    assert.ok((await tagsNow()).includes('sched-new'));
  });
});
