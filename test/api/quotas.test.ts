/**
 * Quotas in-process (and on PostgreSQL in its pass): two namespaces sharing a base layer get
 * exact logical, exclusive and registry-wide figures; a push over a hard limit is refused with
 * DENIED naming the quota, its use and its limit — at completion, while a chunk streams, and on a
 * mount — while one under it lands and crossing the soft limit records a `quota.warning`;
 * repository and tag counts are limits too; twenty concurrent pushes near a limit never go over
 * it, and the time they take is printed beside the same pushes without a quota.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN, api, apiOk, createUsers } from '../helpers/accounts.js';
import { blob, configBlob, ociManifest, type TestBlob } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { errorCode } from '../helpers/registry-calls.js';
import { waitUntil } from '../helpers/wait.js';

interface Usage {
  logical: number;
  exclusive: number;
  repositories: number;
  tags: number;
}

describe('quotas', () => {
  let t: TestApp;
  let u: Record<string, string>;
  const base = blob(20_000);
  const acmeLayer = blob(3_000);
  const zetaLayer = blob(5_000);
  const acmeConfig = configBlob({ image: 'acme' });
  const zetaConfig = configBlob({ image: 'zeta' });
  const acmeManifest = ociManifest(acmeConfig, [base, acmeLayer]);
  const zetaManifest = ociManifest(zetaConfig, [base, zetaLayer]);

  before(async () => {
    t = await testApp({ auth: { mode: 'token' } });
    u = await createUsers(t.app, ['dana']);
  });
  after(() => t.close());

  const inject = (method: 'POST' | 'PUT' | 'PATCH', url: string, payload?: Buffer, type?: string) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: ADMIN, ...(type ? { 'content-type': type } : {}) },
      payload,
    });
  const upload = async (name: string, b: TestBlob) => {
    const start = await inject('POST', `/v2/${name}/blobs/uploads/`);
    if (start.statusCode !== 202) return start;
    return inject(
      'PUT',
      `${start.headers.location}?digest=${b.digest}`,
      b.bytes,
      'application/octet-stream',
    );
  };
  const manifest = (name: string, tag: string, m: TestBlob) =>
    inject(
      'PUT',
      `/v2/${name}/manifests/${tag}`,
      m.bytes,
      'application/vnd.oci.image.manifest.v1+json',
    );
  /** Pushes an image; the first refusal, or the manifest's answer. */
  const pushImage = async (name: string, tag: string, config: TestBlob, layers: TestBlob[]) => {
    for (const b of [config, ...layers]) {
      const res = await upload(name, b);
      if (res.statusCode !== 201) return res;
    }
    return manifest(name, tag, ociManifest(config, layers));
  };
  const usage = async (kind: string, scope: string) =>
    (
      await apiOk(t.app, 200, 'GET', `/api/v1/quotas/usage?kind=${kind}&scope=${scope}`, ADMIN)
    ).json<{ usage: Usage }>().usage;
  const setQuota = (body: Record<string, unknown>) =>
    apiOk(t.app, 200, 'PUT', '/api/v1/quotas', ADMIN, body);

  it('counts a shared base layer once per namespace and once in the registry', async () => {
    for (const repo of ['acme/one', 'acme/two'])
      assert.equal((await pushImage(repo, '1', acmeConfig, [base, acmeLayer])).statusCode, 201);
    assert.equal((await pushImage('zeta/app', '1', zetaConfig, [base, zetaLayer])).statusCode, 201);
    const acmeOwn = acmeLayer.size + acmeConfig.size + acmeManifest.size;
    const zetaOwn = zetaLayer.size + zetaConfig.size + zetaManifest.size;
    assert.deepEqual(await usage('namespace', 'acme'), {
      logical: base.size + acmeOwn,
      exclusive: acmeOwn,
      repositories: 2,
      tags: 2,
    });
    assert.deepEqual(await usage('namespace', 'zeta'), {
      logical: base.size + zetaOwn,
      exclusive: zetaOwn,
      repositories: 1,
      tags: 1,
    });
    assert.deepEqual(await usage('repository', 'acme/one'), {
      logical: base.size + acmeOwn,
      exclusive: 0,
      repositories: 1,
      tags: 1,
    });
    const total = await usage('global', '');
    assert.equal(total.logical, base.size + acmeOwn + zetaOwn, 'the base layer once');
    assert.equal(total.exclusive, total.logical);
  });

  it('lets administrators alone set quotas, checked, and namespace owners read their usage', async () => {
    const denied = await api(t.app, 'PUT', '/api/v1/quotas', u.dana, {
      kind: 'namespace',
      scope: 'dana',
      storageHard: '1GiB',
    });
    assert.equal(denied.statusCode, 403);
    for (const body of [
      { kind: 'namespace', scope: 'acme' },
      { kind: 'namespace', scope: 'acme', storageHard: 'lots' },
      { kind: 'namespace', scope: 'acme', storageHard: 10, storageSoft: 20 },
      { kind: 'namespace', scope: 'Not/Valid', storageHard: 10 },
      { kind: 'repository', scope: 'acme/one', repositoriesMax: 2 },
    ])
      assert.equal((await api(t.app, 'PUT', '/api/v1/quotas', ADMIN, body)).statusCode, 400);
    const own = await api(t.app, 'GET', '/api/v1/quotas/usage?kind=namespace&scope=dana', u.dana);
    assert.equal(own.statusCode, 200, own.body);
    const other = await api(t.app, 'GET', '/api/v1/quotas/usage?kind=namespace&scope=acme', u.dana);
    assert.equal(other.statusCode, 403);
    assert.equal((await api(t.app, 'GET', '/api/v1/quotas', u.dana)).statusCode, 403);
  });

  it('refuses a push over the hard limit with the quota named, and warns past the soft one', async () => {
    const used = (await usage('namespace', 'acme')).logical;
    await setQuota({
      kind: 'namespace',
      scope: 'acme',
      storageSoft: used + 500,
      storageHard: used + 2_500,
    });
    const big = blob(3_000);
    const refused = await upload('acme/one', big);
    assert.equal(refused.statusCode, 403);
    assert.equal(errorCode(refused), 'DENIED');
    assert.match(
      refused.body,
      /quota exceeded: namespace acme uses \d+\.\d KiB of its \d+\.\d KiB storage limit, and this upload would add 2\.9 KiB/,
    );
    // Chunks of a blob not known yet are taken; completing it is refused, with nothing linked.
    const start = await inject('POST', '/v2/acme/one/blobs/uploads/');
    const location = start.headers.location as string;
    const chunk = await inject('PATCH', location, big.bytes, 'application/octet-stream');
    assert.equal(chunk.statusCode, 202, chunk.body);
    const completed = await inject('PUT', `${location}?digest=${big.digest}`);
    assert.equal(completed.statusCode, 403, completed.body);
    assert.match(completed.body, /quota exceeded: namespace acme uses .* would add 2\.9 KiB/);
    const head = await t.app.inject({
      method: 'HEAD',
      url: `/v2/acme/one/blobs/${big.digest}`,
      headers: { authorization: ADMIN },
    });
    assert.equal(head.statusCode, 404);
    // A blob the namespace holds already is taken whatever its size.
    const known = await inject('POST', '/v2/acme/four/blobs/uploads/');
    const knownChunk = await inject(
      'PATCH',
      known.headers.location as string,
      base.bytes,
      'application/octet-stream',
    );
    assert.equal(knownChunk.statusCode, 202);
    assert.equal(
      (await inject('PUT', `${known.headers.location as string}?digest=${base.digest}`)).statusCode,
      201,
    );
    // zeta's layer is new to acme: mounting it costs its size.
    const mount = await inject(
      'POST',
      `/v2/acme/one/blobs/uploads/?mount=${zetaLayer.digest}&from=zeta/app`,
    );
    assert.equal(mount.statusCode, 403, mount.body);
    assert.match(mount.body, /namespace acme uses .* of its .* storage limit/);
    // The base layer acme already holds costs nothing, whatever its size.
    assert.equal(
      (await inject('POST', `/v2/acme/three/blobs/uploads/?mount=${base.digest}&from=zeta/app`))
        .statusCode,
      201,
    );
    const small = blob(1_000);
    const landed = await pushImage('acme/one', '2', configBlob({ image: 'small' }), [small]);
    assert.equal(landed.statusCode, 201, landed.body);
    const after = await usage('namespace', 'acme');
    assert.ok(after.logical <= used + 2_500);
    await waitUntil(async () => {
      const res = await api(t.app, 'GET', '/api/v1/audit?action=quota.warning', ADMIN);
      return /over its soft limit/.test(res.body);
    }, 'the quota.warning event in the audit log');
    const listed = (await apiOk(t.app, 200, 'GET', '/api/v1/quotas', ADMIN)).json<{
      quotas: { scope: string; usage: Usage; storageHard: number }[];
    }>();
    assert.equal(listed.quotas.find((q) => q.scope === 'acme')?.usage.logical, after.logical);
  });

  it('limits how many repositories and tags a namespace holds', async () => {
    await setQuota({ kind: 'namespace', scope: 'cnt', repositoriesMax: 1, tagsMax: 2 });
    const config = configBlob({ image: 'cnt' });
    const layer = blob(100);
    for (const tag of ['1', '2'])
      assert.equal((await pushImage('cnt/a', tag, config, [layer])).statusCode, 201);
    const third = await manifest('cnt/a', '3', ociManifest(config, [layer]));
    assert.equal(third.statusCode, 403);
    assert.match(third.body, /namespace cnt holds 2 of its 2 tags/);
    const again = await manifest('cnt/a', '2', ociManifest(config, [layer]));
    assert.equal(again.statusCode, 201, 'an existing tag is not one more');
    const repo = await inject('POST', '/v2/cnt/b/blobs/uploads/');
    assert.equal(repo.statusCode, 403);
    assert.match(repo.body, /namespace cnt holds 1 of its 1 repositories/);
    await apiOk(t.app, 204, 'DELETE', '/api/v1/quotas?kind=namespace&scope=cnt', ADMIN);
    assert.equal((await inject('POST', '/v2/cnt/b/blobs/uploads/')).statusCode, 202);
  });

  it('never lets twenty concurrent pushes near the limit go over it', async (ctx) => {
    const images = (ns: string) =>
      Array.from({ length: 20 }, (_, i) => ({
        config: configBlob({ image: `${ns}-${i}` }),
        layer: blob(4_000),
      }));
    const timed = async (ns: string) => {
      const started = Date.now();
      const results = await Promise.all(
        images(ns).map(async (image, i) => {
          const t0 = Date.now();
          const res = await pushImage(`${ns}/app${i}`, 'v1', image.config, [image.layer]);
          return { res, ms: Date.now() - t0 };
        }),
      );
      return { results, wall: Date.now() - started };
    };
    const free = await timed('free');
    assert.ok(free.results.every((r) => r.res.statusCode === 201));
    const limit = 10 * 4_000 + 5_000;
    await setQuota({ kind: 'namespace', scope: 'race', storageHard: limit });
    const raced = await timed('race');
    const landed = raced.results.filter((r) => r.res.statusCode === 201).length;
    const refused = raced.results.filter((r) => r.res.statusCode === 403);
    assert.equal(landed + refused.length, 20);
    for (const r of refused) assert.match(r.res.body, /quota exceeded: namespace race/);
    const used = (await usage('namespace', 'race')).logical;
    assert.ok(used <= limit, `${used} bytes used of ${limit}`);
    // Something was refused because it did not fit, so the namespace filled up to within one item.
    assert.ok(used > limit - 4_000, `${used} bytes used of ${limit}: room was left unused`);
    const slowest = (r: typeof raced) => Math.max(...r.results.map((x) => x.ms));
    ctx.diagnostic(
      `20 concurrent pushes: ${free.wall} ms without a quota (slowest ${slowest(free)} ms), ` +
        `${raced.wall} ms near a quota (slowest ${slowest(raced)} ms); ${landed} landed, ${used} of ${limit} bytes`,
    );
  });
});
