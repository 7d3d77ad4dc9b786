/**
 * Build triggers in-process, with real git but no engine: the generic signed webhook queues a
 * build and a forged one does not; [skip build] and rules that match nothing queue nothing; builds
 * that cannot fetch their source fail, and after `builds.maxFailures` of them in a row the
 * repository's triggers switch off with a build.trigger.disabled event; who may link and build.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ADMIN, apiOk, createUsers } from '../helpers/accounts.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { waitUntil } from '../helpers/wait.js';

const COMMIT = 'a'.repeat(40);

describe('build triggers', () => {
  let t: TestApp;
  let users: Record<string, string>;
  let hook = '';
  let secret = '';

  const send = (body: unknown, key = secret) => {
    const text = JSON.stringify(body);
    return t.app.inject({
      method: 'POST',
      url: hook,
      headers: {
        'content-type': 'application/json',
        'x-berth-signature': `sha256=${createHmac('sha256', key).update(text).digest('hex')}`,
      },
      payload: text,
    });
  };

  before(async () => {
    t = await testApp({ auth: { mode: 'token' }, builds: { maxFailures: 2, pollMs: 100 } });
    users = await createUsers(t.app, ['linker', 'reader']);
    await apiOk(t.app, 201, 'POST', '/api/v1/repositories', users.linker, {
      name: 'linker/app',
      visibility: 'public',
    });
  });
  after(() => t.close());

  it('lets only the repository admins link it', async () => {
    const link = {
      source: '/nonexistent/berth-test-source.git',
      rules: [{ sourceType: 'branch', source: 'main', tag: 'latest' }],
    };
    await apiOk(t.app, 403, 'PUT', '/api/v1/repositories/linker/app/_build', users.reader, link);
    await apiOk(t.app, 400, 'PUT', '/api/v1/repositories/linker/app/_build', users.linker, {
      ...link,
      source: 'ftp://example.com/x.git',
    });
    const made = (
      await apiOk(t.app, 200, 'PUT', '/api/v1/repositories/linker/app/_build', users.linker, link)
    ).json<{ hookSecret: string; config: { hooks: { generic: string } } }>();
    hook = made.config.hooks.generic;
    secret = made.hookSecret;
    const shown = await apiOk(t.app, 200, 'GET', '/api/v1/repositories/linker/app/_build', ADMIN);
    assert.ok(!shown.body.includes(secret), 'the secret is shown once');
  });

  it('queues from a signed webhook only, and skips what rules and messages say to', async () => {
    const forged = await send({ ref: 'refs/heads/main', commit: COMMIT }, 'wrong');
    assert.equal(forged.statusCode, 403);
    const skipped = await send({
      ref: 'refs/heads/main',
      commit: COMMIT,
      message: 'docs [skip build]',
    });
    assert.deepEqual(skipped.json().queued, []);
    const unmatched = await send({ ref: 'refs/heads/other', commit: COMMIT });
    assert.deepEqual(unmatched.json().queued, []);
    const queued = await send({ ref: 'refs/heads/main', commit: COMMIT, message: 'go' });
    assert.equal(queued.statusCode, 202);
    assert.equal(queued.json().queued.length, 1);
  });

  it('fails builds whose source cannot be fetched, then switches the triggers off', async () => {
    const history = async () =>
      (
        await apiOk(t.app, 200, 'GET', '/api/v1/repositories/linker/app/_builds', users.reader)
      ).json<{ state: string; error: string | null }[]>();
    // The first build fails before the next commit comes (a newer one would supersede it).
    await waitUntil(
      async () => (await history()).some((b) => b.state === 'failed'),
      'the first failed build',
    );
    await send({ ref: 'refs/heads/main', commit: 'b'.repeat(40), message: 'again' });
    await waitUntil(
      async () => (await history()).filter((b) => b.state === 'failed').length >= 2,
      'two failed builds',
    );
    assert.match((await history())[0]!.error ?? '', /git fetch/);
    await waitUntil(async () => {
      const config = await apiOk(
        t.app,
        200,
        'GET',
        '/api/v1/repositories/linker/app/_build',
        users.linker,
      );
      return config.json<{ enabled: boolean }>().enabled === false;
    }, 'the triggers to switch off');
    const off = await send({ ref: 'refs/heads/main', commit: 'c'.repeat(40), message: 'more' });
    assert.match(off.json().note, /triggers are off: 2 builds in a row failed/);
    await waitUntil(async () => {
      const audit = await apiOk(
        t.app,
        200,
        'GET',
        '/api/v1/audit?action=build.trigger.disable',
        ADMIN,
      );
      return audit.json<{ entries: unknown[] }>().entries.length > 0;
    }, 'the build.trigger.disabled event');
  });
});
