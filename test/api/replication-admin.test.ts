/**
 * Upstreams, cache namespaces and replication rules through the API, in-process: administrators
 * only, passwords sealed and never shown (kept when an edit leaves them out), validation with
 * the field at fault, one mirror namespace at most, an upstream in use not removable, a run queued
 * by hand, and pushes into a cache namespace refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN, api, apiOk, createUsers } from '../helpers/accounts.js';
import { testApp, type TestApp } from '../helpers/in-process.js';

const SECRET = 'upstream-password-never-shown';

describe('upstreams, caches and replication rules through the API', () => {
  let t: TestApp;
  let u: Record<string, string>;

  before(async () => {
    t = await testApp({ auth: { mode: 'token' } });
    u = await createUsers(t.app, ['carol']);
  });
  after(() => t.close());

  it('saves an upstream with its password sealed, never shown, kept across edits', async () => {
    await apiOk(t.app, 204, 'PUT', '/api/v1/upstreams/hub', ADMIN, {
      urls: ['https://registry.example.com', 'http://127.0.0.1:1'],
      username: 'puller',
      password: SECRET,
    });
    const listed = await apiOk(t.app, 200, 'GET', '/api/v1/upstreams', ADMIN);
    assert.doesNotMatch(listed.body, new RegExp(SECRET));
    assert.equal(listed.json<{ hasPassword: boolean }[]>()[0]!.hasPassword, true);
    const [row] = await t.berth.meta.cache.upstreams();
    assert.ok(row!.sealedPassword && !row!.sealedPassword.includes(SECRET));
    await apiOk(t.app, 204, 'PUT', '/api/v1/upstreams/hub', ADMIN, {
      urls: ['https://registry.example.com'],
    });
    assert.equal((await t.berth.meta.cache.upstreams())[0]!.sealedPassword, row!.sealedPassword);
    const bad = await api(t.app, 'PUT', '/api/v1/upstreams/hub', ADMIN, { urls: ['ftp://x'] });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /http\(s\):\/\/host/);
    for (const [method, path] of [
      ['GET', '/api/v1/upstreams'],
      ['PUT', '/api/v1/upstreams/x'],
      ['GET', '/api/v1/cache/namespaces'],
      ['GET', '/api/v1/replication/rules'],
    ] as const) {
      const res = await api(
        t.app,
        method,
        path,
        u.carol,
        method === 'PUT' ? { urls: ['http://x'] } : undefined,
      );
      assert.equal(res.statusCode, 403, `${method} ${path}`);
    }
  });

  it('makes a cache namespace, one mirror at most, and refuses pushes into it', async () => {
    await apiOk(t.app, 204, 'PUT', '/api/v1/cache/namespaces/hub', ADMIN, {
      upstream: 'hub',
      upstreamPrefix: 'library/',
      mirror: true,
    });
    const second = await api(t.app, 'PUT', '/api/v1/cache/namespaces/other', ADMIN, {
      upstream: 'hub',
      mirror: true,
    });
    assert.equal(second.statusCode, 409);
    const unknown = await api(t.app, 'PUT', '/api/v1/cache/namespaces/x', ADMIN, {
      upstream: 'nope',
    });
    assert.equal(unknown.statusCode, 404);
    const inUse = await api(t.app, 'DELETE', '/api/v1/upstreams/hub', ADMIN);
    assert.equal(inUse.statusCode, 409);
    const push = await t.app.inject({
      method: 'POST',
      url: '/v2/hub/busybox/blobs/uploads/',
      headers: { authorization: ADMIN },
    });
    assert.equal(push.statusCode, 403, push.body);
    assert.match(push.body, /pull-through cache/);
  });

  it('saves replication rules checked whole, and queues a run by hand', async () => {
    const bad = await api(t.app, 'PUT', '/api/v1/replication/rules/r1', ADMIN, {
      direction: 'push',
      upstream: 'hub',
      tags: { semver: 'not a range', exclude: ['('] },
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /not a semver range/);
    assert.match(bad.body, /not a regular expression/);
    await apiOk(t.app, 204, 'PUT', '/api/v1/replication/rules/r1', ADMIN, {
      direction: 'push',
      upstream: 'hub',
      repositories: ['acme/**'],
      tags: { semver: '>=1.0.0 <2' },
    });
    const rules = (await apiOk(t.app, 200, 'GET', '/api/v1/replication/rules', ADMIN)).json<
      { name: string; settings: { actAs: string; includeReferrers: boolean } }[]
    >();
    assert.equal(rules[0]!.settings.actAs, 'admin', 'the local side acts as the caller');
    assert.equal(rules[0]!.settings.includeReferrers, true);
    const run = await apiOk(t.app, 202, 'POST', '/api/v1/replication/rules/r1/run', ADMIN);
    const id = run.json<{ execution: number }>().execution;
    const execution = await apiOk(t.app, 200, 'GET', `/api/v1/replication/executions/${id}`, ADMIN);
    assert.equal(execution.json<{ trigger: string }>().trigger, 'manual');
    await apiOk(t.app, 204, 'DELETE', '/api/v1/replication/rules/r1', ADMIN);
  });
});
