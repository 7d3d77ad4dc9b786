/**
 * Quotas with the real clients: docker pushes the same busybox image into two namespaces and the
 * figures show it once in each and once in the registry; under a hard limit a docker push of a
 * bigger image is refused with the quota, its use and its limit in docker's own output, while a
 * small image copied by skopeo lands; an administrator sets a quota on the Governance page in
 * Chromium and sees its usage bar, and an organisation's owner sees the bar on its page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signedInPage } from '../helpers/browser.js';
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
const ADMIN_PASSWORD = 'quota-admin-password';
const PASSWORD = 'quota-user-password';

interface Usage {
  logical: number;
  exclusive: number;
  repositories: number;
  tags: number;
}

describe('quotas', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let engine: PrivateDockerd;
  const admin = (method: string, path: string, body?: unknown) =>
    apiCaller(berth.url, 'admin', ADMIN_PASSWORD)(method, path, body);
  const usage = async (kind: string, scope = '') => {
    const res = await admin('GET', `/api/v1/quotas/usage?kind=${kind}&scope=${scope}`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { usage: Usage }).usage;
  };

  before(async () => {
    if (skipUnlessTools(TOOLS)) return;
    berth = await spawnBerth({ auth: 'token', adminPassword: ADMIN_PASSWORD });
    for (const name of ['alice', 'bob'])
      assert.equal(
        (await admin('POST', '/api/v1/users', { name, password: PASSWORD })).status,
        201,
      );
    engine = await startDockerd();
    engine.docker(['build', '-q', '-t', 'local/base:1', busyboxContext()]);
    engine.docker([
      'build',
      '-q',
      '-t',
      'local/big:1',
      derivedContext('local/base:1', ['RUN head -c 300000 /dev/urandom > /big']),
    ]);
    engine.docker([
      'build',
      '-q',
      '-t',
      'local/small:1',
      derivedContext('local/base:1', ['RUN echo small > /small']),
    ]);
  });
  after(async () => {
    await engine?.stop();
    if (berth) {
      await berth.stop();
      removeDir(berth.data);
    }
  });

  it('counts one image pushed into two namespaces once in each and once in the registry', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    for (const user of ['alice', 'bob']) {
      engine.docker(['login', '-u', user, '--password-stdin', berth.host], { input: PASSWORD });
      engine.docker(['tag', 'local/base:1', `${berth.host}/${user}/base:1`]);
      engine.docker(['push', `${berth.host}/${user}/base:1`]);
    }
    const alice = await usage('namespace', 'alice');
    const bob = await usage('namespace', 'bob');
    assert.ok(alice.logical > 100_000, `busybox is ${alice.logical} bytes`);
    assert.deepEqual(bob, alice);
    assert.equal(alice.exclusive, 0, 'everything alice holds, bob holds too');
    assert.equal((await usage('global')).logical, alice.logical);
  });

  it('refuses a docker push over the hard limit with the quota named; skopeo copies a small image on the same base under it', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const used = (await usage('namespace', 'alice')).logical;
    const saved = await admin('PUT', '/api/v1/quotas', {
      kind: 'namespace',
      scope: 'alice',
      storageHard: used + 100_000,
    });
    assert.equal(saved.status, 200);
    engine.docker(['login', '-u', 'alice', '--password-stdin', berth.host], { input: PASSWORD });
    engine.docker(['tag', 'local/big:1', `${berth.host}/alice/big:1`]);
    const refused = engine.attempt(['push', `${berth.host}/alice/big:1`]);
    assert.notEqual(refused.status, 0);
    assert.match(
      refused.output,
      /denied: quota exceeded: namespace alice uses [\d.]+ [KM]iB of its [\d.]+ [KM]iB storage limit, and this upload would add/,
    );
    assert.ok((await usage('namespace', 'alice')).logical <= used + 100_000);
    // A small image on top of the base alice holds already: only its new layer counts.
    engine.docker(['login', '-u', 'bob', '--password-stdin', berth.host], { input: PASSWORD });
    engine.docker(['tag', 'local/small:1', `${berth.host}/bob/small:1`]);
    engine.docker(['push', `${berth.host}/bob/small:1`]);
    const copied = attempt('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      `bob:${PASSWORD}`,
      '--dest-creds',
      `alice:${PASSWORD}`,
      `docker://${berth.host}/bob/small:1`,
      `docker://${berth.host}/alice/small:1`,
    ]);
    assert.equal(copied.status, 0, copied.output);
  });

  it('sets a quota on the Governance page and shows its usage bar, in Chromium', async (t) => {
    if (!needTools(t, ...TOOLS, 'chromium')) return;
    const { page, close } = await signedInPage(berth.url, 'admin', ADMIN_PASSWORD);
    try {
      await page.getByRole('link', { name: 'Governance' }).click();
      const form = page.getByRole('form', { name: 'Set a quota' });
      await form.getByLabel('Name', { exact: true }).fill('bob');
      await form.getByLabel(/Hard limit/).fill('10MiB');
      await form.getByLabel('Most tags').fill('5');
      await form.getByRole('button', { name: 'Save quota' }).click();
      const panel = page.locator('article', { hasText: 'namespace bob' });
      await panel.getByRole('meter', { name: 'Storage used' }).waitFor();
      assert.match(await panel.innerText(), /Tags: 2 of 5/);
      assert.match(await panel.innerText(), /of 10\.0 MiB/);
    } finally {
      await close();
    }
  });
});
