/**
 * Retention with the real clients: docker pushes three tags; `berth retention run --dry-run` on
 * the running server's data directory lists the two older ones and removes nothing; in Chromium
 * an administrator runs the policy from the Governance page, sees the report and the trash, and
 * restores one tag; docker then pulls the restored image whole (every layer checked by digest)
 * while the tag left in the trash is gone from the registry.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { signedInPage } from '../helpers/browser.js';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { apiCaller } from '../helpers/remote-accounts.js';
import { BERTH_BIN, removeDir, spawnBerth, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';

const TOOLS = ['dockerd', 'docker', 'busybox', 'chromium'];
const ADMIN_PASSWORD = 'retention-admin-password';

describe('retention', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let engine: PrivateDockerd;
  let policyId: number;
  const admin = (method: string, path: string, body?: unknown) =>
    apiCaller(berth.url, 'admin', ADMIN_PASSWORD)(method, path, body);
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [BERTH_BIN, ...args, '--data', berth.data], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    if (skipUnlessTools(TOOLS)) return;
    berth = await spawnBerth({ auth: 'token', adminPassword: ADMIN_PASSWORD });
    engine = await startDockerd();
    engine.docker(['build', '-q', '-t', 'local/base:1', busyboxContext()]);
    engine.docker(['login', '-u', 'admin', '--password-stdin', berth.host], {
      input: ADMIN_PASSWORD,
    });
    for (const n of ['1', '2', '3']) {
      const ref = `${berth.host}/acme/app:${n}`;
      engine.docker([
        'build',
        '-q',
        '-t',
        ref,
        derivedContext('local/base:1', [`RUN head -c 50000 /dev/urandom > /layer-${n}`]),
      ]);
      engine.docker(['push', ref]);
    }
    const res = await admin('POST', '/api/v1/retention/policies', {
      scope: 'acme/app',
      rules: [{ keep: 'newest', count: 1 }],
    });
    assert.equal(res.status, 201);
    policyId = ((await res.json()) as { id: number }).id;
  });
  after(async () => {
    await engine?.stop();
    if (berth) {
      await berth.stop();
      removeDir(berth.data);
    }
  });

  it('lists the older tags in a dry run from the CLI and removes nothing', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const out = cli(['retention', 'run', String(policyId), '--dry-run']);
    assert.match(out, /would remove acme\/app:1/);
    assert.match(out, /would remove acme\/app:2/);
    assert.doesNotMatch(out, /acme\/app:3/);
    assert.match(out, /would remove 2 tags, kept 1/);
    assert.equal(engine.attempt(['pull', `${berth.host}/acme/app:1`]).status, 0);
  });

  it('runs from the Governance page, restores one tag, and docker pulls it whole', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const { page, close } = await signedInPage(berth.url, 'admin', ADMIN_PASSWORD);
    try {
      await page.getByRole('link', { name: 'Governance' }).click();
      const policies = page.getByRole('table', { name: 'Retention policies' });
      await policies.getByRole('button', { name: 'Run now' }).click();
      await page
        .getByRole('status', { name: 'Retention report' })
        .filter({ hasText: 'Removed 2 tags, keeping 1.' })
        .waitFor();
      const trash = page.getByRole('table', { name: 'Trash' });
      await trash.getByRole('row', { name: /acme\/app:2/ }).waitFor();
      await trash
        .getByRole('row', { name: /acme\/app:1/ })
        .getByRole('button', { name: 'Restore' })
        .click();
      await trash.getByRole('row', { name: /acme\/app:1/ }).waitFor({ state: 'detached' });
    } finally {
      await close();
    }
    for (const n of ['1', '2', '3']) engine.attempt(['rmi', `${berth.host}/acme/app:${n}`]);
    engine.attempt(['rmi', 'local/base:1']);
    const pulled = engine.attempt(['pull', `${berth.host}/acme/app:1`]);
    assert.equal(pulled.status, 0, pulled.output);
    const listed = engine.docker([
      'run',
      '--rm',
      '--network',
      'none',
      `${berth.host}/acme/app:1`,
      'ls',
      '/',
    ]);
    assert.match(listed, /layer-1/);
    const gone = engine.attempt(['pull', `${berth.host}/acme/app:2`]);
    assert.notEqual(gone.status, 0);
    assert.match(gone.output, /not found|manifest unknown/i);
  });
});
