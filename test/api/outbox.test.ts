/**
 * The outbox: every registry change writes its event in the same transaction — pushes, mounts,
 * tag and manifest deletions, blob deletions — with who did it, from where, under which registry
 * name; a refused change writes none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { blob, configBlob, ociManifest } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { ADMIN, apiOk, createUsers } from '../helpers/accounts.js';
import { waitUntil } from '../helpers/wait.js';
import { pushBlob, putManifest } from '../helpers/registry-calls.js';

describe('the outbox', () => {
  let t: TestApp;
  before(async () => (t = await testApp({ domain: 'registry.example.com' })));
  after(() => t.close());

  const eventsAfter = (id: number) => t.berth.meta.outbox.after(id, 1000);

  it('records each change with its actor, address and registry, in commit order', async () => {
    const start = (await eventsAfter(0)).at(-1)?.id ?? 0;
    const config = configBlob({ n: 'outbox' });
    const layer = blob(2000);
    await pushBlob(t.app, 'ob/app', config);
    await pushBlob(t.app, 'ob/app', layer);
    const m = ociManifest(config, [layer]);
    assert.equal(
      (await putManifest(t.app, 'ob/app', `${m.digest}?tag=v1&tag=v2`, m)).statusCode,
      201,
    );
    const mount = await t.app.inject({
      method: 'POST',
      url: `/v2/ob/other/blobs/uploads/?mount=${layer.digest}&from=ob/app`,
      headers: { 'user-agent': 'test-agent/1' },
    });
    assert.equal(mount.statusCode, 201);
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: '/v2/ob/app/manifests/v2' })).statusCode,
      202,
    );
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: `/v2/ob/app/manifests/${m.digest}` }))
        .statusCode,
      202,
    );
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: `/v2/ob/other/blobs/${layer.digest}` }))
        .statusCode,
      202,
    );
    const events = await eventsAfter(start);
    assert.deepEqual(
      events.map((e) => [e.type, e.repository, e.target.tag ?? e.target.digest]),
      [
        ['blob.uploaded', 'ob/app', config.digest],
        ['blob.uploaded', 'ob/app', layer.digest],
        ['manifest.pushed', 'ob/app', 'v1'],
        ['manifest.pushed', 'ob/app', 'v2'],
        ['blob.mounted', 'ob/other', layer.digest],
        ['tag.deleted', 'ob/app', 'v2'],
        ['manifest.deleted', 'ob/app', m.digest],
        ['blob.deleted', 'ob/other', layer.digest],
      ],
    );
    const ids = events.map((e) => e.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    const mounted = events.find((e) => e.type === 'blob.mounted')!;
    assert.equal(mounted.actor.address, '127.0.0.1');
    assert.equal(mounted.actor.userAgent, 'test-agent/1');
    assert.equal(mounted.target.registry, 'registry.example.com');
    assert.equal(mounted.target.from, 'ob/app');
    assert.equal(events[2]!.target.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  });

  it('writes no event for a change that was refused', async () => {
    const before = (await eventsAfter(0)).at(-1)?.id ?? 0;
    const m = ociManifest(configBlob({ n: 'missing' }), [blob(10)]);
    assert.equal((await putManifest(t.app, 'ob/refused', 'v1', m)).statusCode, 400);
    const wrong = await t.app.inject({
      method: 'POST',
      url: `/v2/ob/refused/blobs/uploads/?digest=${blob(5).digest}`,
      payload: Buffer.from('other'),
    });
    assert.equal(wrong.statusCode, 400);
    assert.deepEqual(await eventsAfter(before), []);
  });

  it('feeds the audit log: uploads, mounts, pushes and deletions, once each', async () => {
    const config = configBlob({ n: 'audited' });
    const layer = blob(300);
    await pushBlob(t.app, 'ob/audited', config);
    await pushBlob(t.app, 'ob/audited', layer);
    const m = ociManifest(config, [layer]);
    assert.equal((await putManifest(t.app, 'ob/audited', 'v1', m)).statusCode, 201);
    const entries = async () =>
      (await t.berth.meta.audit.query({ target: 'ob/audited', limit: 100 })).reverse();
    const deadline = Date.now() + 30_000;
    while ((await entries()).length < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const audited = await entries();
    assert.deepEqual(
      audited.map((e) => [e.action, e.detail?.reference]),
      [
        ['blob.push', config.digest],
        ['blob.push', layer.digest],
        ['manifest.push', 'v1'],
      ],
    );
    assert.ok(audited.every((e) => e.address === '127.0.0.1' && e.outcome === 'success'));
  });

  it('keeps a cursor per consumer', async () => {
    assert.equal(await t.berth.meta.outbox.cursor('a-test-consumer'), 0);
    await t.berth.meta.outbox.advance('a-test-consumer', 7);
    await t.berth.meta.outbox.advance('a-test-consumer', 9);
    assert.equal(await t.berth.meta.outbox.cursor('a-test-consumer'), 9);
  });
});

describe('account and repository changes in the outbox', () => {
  let t: TestApp;
  before(
    async () =>
      (t = await testApp({ auth: { mode: 'token' }, webhooks: { allow: ['127.0.0.1'] } })),
  );
  after(() => t.close());

  it('writes each change, its audit entry and its event in one transaction', async () => {
    const start = (await t.berth.meta.outbox.after(0, 10_000)).at(-1)?.id ?? 0;
    const users = await createUsers(t.app, ['outboxer']);
    await apiOk(t.app, 201, 'POST', '/api/v1/orgs', users.outboxer, { name: 'outboxorg' });
    await apiOk(t.app, 201, 'POST', '/api/v1/repositories', users.outboxer, {
      name: 'outboxorg/app',
    });
    await apiOk(t.app, 200, 'PATCH', '/api/v1/repositories/outboxorg/app', users.outboxer, {
      visibility: 'public',
    });
    // A change that fails writes neither an audit entry nor an event.
    await apiOk(t.app, 404, 'DELETE', '/api/v1/orgs/outboxorg/members/nobody', users.outboxer);
    await apiOk(t.app, 204, 'DELETE', '/api/v1/repositories/outboxorg/app', users.outboxer);
    const events = (await t.berth.meta.outbox.after(start, 1000)).filter((e) => e.type !== 'login');
    assert.deepEqual(
      events.map((e) => [e.type, e.target.action, e.actor.name]),
      [
        ['account.changed', 'user.create', 'admin'],
        ['account.changed', 'org.create', 'outboxer'],
        ['repository.created', 'repository.create', 'outboxer'],
        ['repository.visibility', 'repository.update', 'outboxer'],
        ['repository.deleted', 'repository.delete', 'outboxer'],
      ],
    );
    const audit = await t.berth.meta.audit.query({ limit: 1000 });
    assert.ok(
      !audit.some((e) => e.action === 'org.member.remove'),
      'nothing audited for a failure',
    );
  });

  it('deletes webhooks with the repository or namespace they watch', async () => {
    const users = await createUsers(t.app, ['leaver']);
    await apiOk(t.app, 201, 'POST', '/api/v1/repositories', users.leaver, { name: 'leaver/app' });
    const body = { url: 'http://127.0.0.1:9/hook' };
    await apiOk(
      t.app,
      201,
      'POST',
      '/api/v1/repositories/leaver/app/_webhooks',
      users.leaver,
      body,
    );
    await apiOk(t.app, 201, 'POST', '/api/v1/namespaces/leaver/webhooks', users.leaver, body);
    assert.equal((await t.berth.meta.webhooks.list()).length, 2);
    await apiOk(t.app, 204, 'DELETE', '/api/v1/users/leaver?repositories=delete', ADMIN);
    assert.deepEqual(await t.berth.meta.webhooks.list(), [], 'no webhook outlives its scope');
  });
});

describe('outbox pruning', () => {
  let t: TestApp;
  before(async () => (t = await testApp()));
  after(() => t.close());

  it('deletes only old events that every consumer has handled', async () => {
    const { meta } = t.berth;
    await meta.writeTransaction(async (tx) => {
      for (const at of [1_000, 2_000, Date.now()])
        await tx.outbox.append({
          at,
          type: 'login',
          repository: null,
          actor: { name: 'x' },
          target: {},
          outcome: 'success',
        });
    });
    const all = await meta.outbox.after(0, 1000);
    const [first, second, third] = all.slice(-3);
    // The running consumers catch up; a slower one has handled only the first.
    await waitUntil(
      async () =>
        (await meta.outbox.cursor('audit')) >= third!.id &&
        (await meta.outbox.cursor('webhooks')) >= third!.id,
      'the consumers to catch up',
    );
    await meta.outbox.advance('a-slow-consumer', first!.id);
    assert.equal(await meta.writeTransaction((tx) => tx.outbox.prune(Date.now() - 60_000)), 1);
    const left = (await meta.outbox.after(0, 1000)).map((e) => e.id);
    assert.ok(!left.includes(first!.id), 'handled by all and old: gone');
    assert.ok(left.includes(second!.id), 'not yet handled by every consumer: kept');
  });
});
