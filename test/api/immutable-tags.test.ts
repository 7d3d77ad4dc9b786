/**
 * Immutable-tag rules in-process: administrators add and remove them, anyone signed in reads them;
 * a covered tag is set once (the same manifest again is fine), moving or deleting it is DENIED
 * with the rule named; excluded tags and cosign's signature tags keep moving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN, api, apiOk, createUsers } from '../helpers/accounts.js';
import { blob, configBlob, ociManifest } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { errorCode } from '../helpers/registry-calls.js';

describe('immutable tags', () => {
  let t: TestApp;
  let u: Record<string, string>;

  before(async () => {
    t = await testApp({ auth: { mode: 'token' } });
    u = await createUsers(t.app, ['carol']);
  });
  after(() => t.close());

  const push = async (reference: string, content: string) => {
    const config = configBlob({ content });
    const layer = blob(content);
    const registry = t.berth.registry;
    for (const b of [config, layer])
      await registry.uploads.monolithic(
        'acme/app',
        b.digest,
        (await import('node:stream')).Readable.from([b.bytes]),
      );
    const manifest = ociManifest(config, [layer]);
    const res = await t.app.inject({
      method: 'PUT',
      url: `/v2/acme/app/manifests/${reference}`,
      headers: {
        authorization: ADMIN,
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
      },
      payload: manifest.bytes,
    });
    return { res, digest: manifest.digest };
  };

  it('lets administrators add rules, checked, and anyone signed in read them', async () => {
    const denied = await api(t.app, 'POST', '/api/v1/immutable-tags', u.carol, { scope: 'acme/' });
    assert.equal(denied.statusCode, 403);
    const bad = await api(t.app, 'POST', '/api/v1/immutable-tags', ADMIN, {
      scope: 'acme/',
      patterns: ['('],
    });
    assert.equal(bad.statusCode, 400);
    const badScope = await api(t.app, 'POST', '/api/v1/immutable-tags', ADMIN, {
      scope: 'Not Valid',
    });
    assert.equal(badScope.statusCode, 400);
    await apiOk(t.app, 201, 'POST', '/api/v1/immutable-tags', ADMIN, {
      scope: 'acme/',
      patterns: ['v.*', 'sha256-.*'],
      exclusions: ['v-dev'],
    });
    const listed = await apiOk(t.app, 200, 'GET', '/api/v1/immutable-tags', u.carol);
    assert.equal(listed.json<{ scope: string }[]>()[0]!.scope, 'acme/');
  });

  it('sets a covered tag once and refuses moving or deleting it; excluded and cosign tags move', async () => {
    const first = await push('v1', 'one');
    assert.equal(first.res.statusCode, 201);
    assert.equal((await push('v1', 'one')).res.statusCode, 201, 'the same manifest again');
    const moved = await push('v1', 'two');
    assert.equal(moved.res.statusCode, 403);
    assert.equal(errorCode(moved.res), 'DENIED');
    assert.match(moved.res.body, /acme\/app:v1 is immutable \(rule \d+ on acme\/\)/);
    for (const tag of ['v-dev', `sha256-${'a'.repeat(64)}.sig`]) {
      assert.equal((await push(tag, 'one')).res.statusCode, 201);
      assert.equal((await push(tag, 'two')).res.statusCode, 201, `${tag} moves`);
    }
    for (const reference of ['v1', first.digest]) {
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/v2/acme/app/manifests/${reference}`,
        headers: { authorization: ADMIN },
      });
      assert.equal(res.statusCode, 403, reference);
    }
  });
});
