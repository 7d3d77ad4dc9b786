/**
 * Immutable tags with the real clients: under a rule on the `alice/` namespace (all tags but
 * `latest`), docker pushes a tag once and may push the same image again, but a different image
 * under that tag is refused with the rule named; `latest` still moves; skopeo cannot delete the
 * tag nor its manifest by digest; once an administrator removes the rule, the delete goes through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { apiCaller } from '../helpers/remote-accounts.js';
import { removeDir, spawnBerth, type SpawnedBerth } from '../helpers/server.js';
import { attempt, needTools, skipUnlessTools } from '../helpers/tools.js';

const TOOLS = ['dockerd', 'docker', 'busybox', 'skopeo'];
const ADMIN_PASSWORD = 'immutable-admin-password';
const PASSWORD = 'immutable-alice-password';

describe('immutable tags', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let engine: PrivateDockerd;
  let ruleId: number;
  const admin = (method: string, path: string, body?: unknown) =>
    apiCaller(berth.url, 'admin', ADMIN_PASSWORD)(method, path, body);
  const skopeo = (args: string[]) =>
    attempt('skopeo', [...args, '--tls-verify=false', '--creds', `alice:${PASSWORD}`]);

  before(async () => {
    if (skipUnlessTools(TOOLS)) return;
    berth = await spawnBerth({ auth: 'token', adminPassword: ADMIN_PASSWORD });
    assert.equal(
      (await admin('POST', '/api/v1/users', { name: 'alice', password: PASSWORD })).status,
      201,
    );
    const rule = await admin('POST', '/api/v1/immutable-tags', {
      scope: 'alice/',
      exclusions: ['latest'],
    });
    assert.equal(rule.status, 201);
    ruleId = ((await rule.json()) as { id: number }).id;
    engine = await startDockerd();
    engine.docker(['build', '-q', '-t', 'local/one:1', busyboxContext()]);
    engine.docker([
      'build',
      '-q',
      '-t',
      'local/two:1',
      derivedContext('local/one:1', ['RUN echo two > /two']),
    ]);
    engine.docker(['login', '-u', 'alice', '--password-stdin', berth.host], { input: PASSWORD });
  });
  after(async () => {
    await engine?.stop();
    if (berth) {
      await berth.stop();
      removeDir(berth.data);
    }
  });

  it('pushes a tag once, again with the same image, and refuses another image under it', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const ref = `${berth.host}/alice/app:1`;
    engine.docker(['tag', 'local/one:1', ref]);
    engine.docker(['push', ref]);
    assert.equal(engine.attempt(['push', ref]).status, 0, 'the same image again is fine');
    engine.docker(['tag', 'local/two:1', ref]);
    const moved = engine.attempt(['push', ref]);
    assert.notEqual(moved.status, 0);
    assert.match(moved.output, /alice\/app:1 is immutable \(rule \d+ on alice\/\)/);
    for (const image of ['local/one:1', 'local/two:1']) {
      engine.docker(['tag', image, `${berth.host}/alice/app:latest`]);
      assert.equal(
        engine.attempt(['push', `${berth.host}/alice/app:latest`]).status,
        0,
        'latest moves',
      );
    }
  });

  it('refuses deleting the tag or its manifest with skopeo until the rule is removed', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const byTag = skopeo(['delete', `docker://${berth.host}/alice/app:1`]);
    assert.notEqual(byTag.status, 0);
    assert.match(byTag.output, /immutable/);
    const digest = JSON.parse(skopeo(['inspect', `docker://${berth.host}/alice/app:1`]).output) as {
      Digest: string;
    };
    const byDigest = skopeo(['delete', `docker://${berth.host}/alice/app@${digest.Digest}`]);
    assert.notEqual(byDigest.status, 0);
    assert.match(byDigest.output, /immutable/);
    assert.equal((await admin('DELETE', `/api/v1/immutable-tags/${ruleId}`)).status, 204);
    const deleted = skopeo(['delete', `docker://${berth.host}/alice/app:1`]);
    assert.equal(deleted.status, 0, deleted.output);
  });
});
