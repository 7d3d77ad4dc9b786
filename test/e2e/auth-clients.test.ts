/**
 * Access control with the real clients: docker login/logout and pushes and pulls allowed or refused
 * exactly where they should be, access tokens as passwords, skopeo with --creds, podman login.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxContext, startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { umociBusyboxLayout } from '../helpers/oci-layout.js';
import { podmanFlags } from '../helpers/podman.js';
import { remoteApi } from '../helpers/remote-accounts.js';
import { removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { attempt, needTools, run, skipUnlessTools } from '../helpers/tools.js';

const ADMIN = { user: 'admin', password: 'e2e-admin-password' };
const PASSWORD = 'e2e-user-password';
const as = (user: string) => ({ user, password: PASSWORD });

/** Starts Berth with auth on and the accounts every test here uses. */
async function berthWithAccounts(): Promise<SpawnedBerth> {
  const berth = await spawnBerth({ auth: 'token', adminPassword: ADMIN.password });
  for (const name of ['alice', 'bob', 'carol'])
    await remoteApi(berth.url, ADMIN, 'POST', '/api/v1/users', { name, password: PASSWORD });
  await remoteApi(berth.url, as('alice'), 'POST', '/api/v1/orgs', { name: 'acme' });
  await remoteApi(berth.url, as('alice'), 'POST', '/api/v1/orgs/acme/teams', { name: 'devs' });
  await remoteApi(berth.url, as('alice'), 'PUT', '/api/v1/orgs/acme/teams/devs/members/carol');
  await remoteApi(berth.url, as('alice'), 'PUT', '/api/v1/orgs/acme/teams/devs/permission', {
    level: 'read',
  });
  return berth;
}

describe(
  'docker CLI with accounts and tokens',
  { skip: skipUnlessTools(['dockerd', 'docker', 'busybox']) },
  () => {
    let berth: SpawnedBerth;
    let engine: PrivateDockerd;
    let host: string;
    const login = (user: string, secret: string) =>
      engine.attempt(['login', '-u', user, '--password-stdin', host], { input: secret });

    before(async () => {
      berth = await berthWithAccounts();
      host = berth.host;
      engine = await startDockerd();
    });
    after(async () => {
      await engine?.stop();
      await berth?.stop();
      if (berth) removeDir(berth.data);
    });

    it('logs in (keeping an identity token), pushes to its own namespace, and is refused elsewhere', (t) => {
      if (!needTools(t, 'dockerd', 'docker', 'busybox')) return;
      const wrong = login('alice', 'not-the-password');
      assert.notEqual(wrong.status, 0);
      assert.match(wrong.output, /incorrect username or password|unauthorized/i);
      const ok = login('alice', PASSWORD);
      assert.equal(ok.status, 0, ok.output);
      assert.match(ok.output, /Login Succeeded/);
      const config = JSON.parse(
        readFileSync(path.join(engine.env.DOCKER_CONFIG!, 'config.json'), 'utf8'),
      ) as {
        auths: Record<string, { identitytoken?: string }>;
      };
      assert.match(
        config.auths[host]!.identitytoken ?? '',
        /^berth_rt_/,
        'docker keeps the refresh token',
      );

      engine.docker(['build', '-q', '-t', `${host}/alice/app:1`, busyboxContext()]);
      assert.match(engine.docker(['push', `${host}/alice/app:1`]), /1: digest: sha256:/);
      engine.docker(['tag', `${host}/alice/app:1`, `${host}/acme/secret:1`]);
      assert.match(engine.docker(['push', `${host}/acme/secret:1`]), /digest: sha256:/);

      engine.docker(['tag', `${host}/alice/app:1`, `${host}/bob/app:1`]);
      const foreign = engine.attempt(['push', `${host}/bob/app:1`]);
      assert.notEqual(foreign.status, 0);
      assert.match(
        foreign.output,
        /denied: alice may not push to bob\/app: namespace bob belongs to another user/,
      );
    });

    it('refuses a private pull when logged out, allows it for a team member, and refuses their push', (t) => {
      if (!needTools(t, 'dockerd', 'docker', 'busybox')) return;
      engine.docker(['logout', host]);
      engine.docker(['rmi', `${host}/acme/secret:1`]);
      const anonymous = engine.attempt(['pull', `${host}/acme/secret:1`]);
      assert.notEqual(anonymous.status, 0);
      assert.match(anonymous.output, /pull access denied|unauthorized|authentication required/i);

      assert.equal(login('carol', PASSWORD).status, 0);
      assert.match(engine.docker(['pull', `${host}/acme/secret:1`]), /Digest: sha256:/);
      engine.docker(['tag', `${host}/acme/secret:1`, `${host}/acme/secret:2`]);
      const readOnly = engine.attempt(['push', `${host}/acme/secret:2`]);
      assert.notEqual(readOnly.status, 0);
      assert.match(
        readOnly.output,
        /denied: carol may not push to acme\/secret: carol has read access only/,
      );
    });

    it('lets anyone pull a public repository without logging in', async (t) => {
      if (!needTools(t, 'dockerd', 'docker', 'busybox')) return;
      await remoteApi(berth.url, as('alice'), 'PATCH', '/api/v1/repositories/alice/app', {
        visibility: 'public',
      });
      engine.docker(['logout', host]);
      engine.docker(['rmi', '-f', `${host}/alice/app:1`]);
      assert.match(engine.docker(['pull', `${host}/alice/app:1`]), /Digest: sha256:/);
      assert.equal(
        engine
          .docker(['run', '--rm', '--network', 'none', `${host}/alice/app:1`, 'echo', 'public'])
          .trim(),
        'public',
      );
    });

    it('logs in with a personal access token as the password and pushes with it', async (t) => {
      if (!needTools(t, 'dockerd', 'docker', 'busybox')) return;
      const created = (await remoteApi(berth.url, as('bob'), 'POST', '/api/v1/tokens', {
        name: 'laptop',
        level: 'write',
      })) as { token: string; id: number };
      const viaToken = login('bob', created.token);
      assert.equal(viaToken.status, 0, viaToken.output);
      assert.match(engine.docker(['push', `${host}/bob/app:1`]), /digest: sha256:/);
      const tokens = (await remoteApi(berth.url, as('bob'), 'GET', '/api/v1/tokens')) as {
        lastUsedAt: string | null;
      }[];
      assert.ok(tokens[0]!.lastUsedAt, 'the token shows its last use');
      await remoteApi(berth.url, as('bob'), 'DELETE', `/api/v1/tokens/${created.id}`);
      const revoked = engine.attempt(['push', `${host}/bob/app:1`]);
      assert.notEqual(revoked.status, 0, 'a revoked token no longer pushes');
      engine.docker(['logout', host]);
      const audit = (await remoteApi(
        berth.url,
        ADMIN,
        'GET',
        '/api/v1/audit?action=login&n=1000',
      )) as {
        entries: { actor: string; outcome: string }[];
      };
      const seen = new Set(audit.entries.map((e) => `${e.actor}:${e.outcome}`));
      for (const expected of ['alice:failure', 'alice:success', 'carol:success', 'bob:success'])
        assert.ok(seen.has(expected), `audit has ${expected}`);
    });
  },
);

describe(
  'skopeo and podman with credentials',
  { skip: skipUnlessTools(['skopeo', 'podman', 'umoci']) },
  () => {
    let berth: SpawnedBerth;
    let store: string;
    const podman = (args: string[], input?: string) =>
      attempt('podman', [...podmanFlags(store), ...args], {
        env: { ...process.env, REGISTRY_AUTH_FILE: path.join(store, 'auth.json') },
        input,
      });

    before(async () => {
      berth = await berthWithAccounts();
      store = tempDir('podman-auth');
    });
    after(async () => {
      await berth?.stop();
      if (berth) removeDir(berth.data);
      if (store) {
        podman(['system', 'reset', '--force']);
        removeDir(store);
      }
    });

    it('skopeo copies in with --dest-creds, reads private content only with --creds', (t) => {
      if (!needTools(t, 'skopeo', 'umoci')) return;
      const layout = umociBusyboxLayout('v1', 'skopeo with creds\n');
      const dest = `docker://${berth.host}/acme/tools:1`;
      const anonymous = attempt('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        dest,
      ]);
      assert.notEqual(anonymous.status, 0);
      assert.match(anonymous.output, /denied|authentication required|unauthorized/i);
      run('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        `alice:${PASSWORD}`,
        `oci:${layout}:v1`,
        dest,
      ]);
      const refused = attempt('skopeo', [
        'inspect',
        '--tls-verify=false',
        '--creds',
        `bob:${PASSWORD}`,
        dest,
      ]);
      assert.notEqual(refused.status, 0);
      assert.match(refused.output, /denied|unauthorized/i);
      const inspect = JSON.parse(
        run('skopeo', ['inspect', '--tls-verify=false', '--creds', `carol:${PASSWORD}`, dest]),
      ) as { Layers: string[] };
      assert.equal(inspect.Layers.length, 1);
    });

    it('podman logs in and pushes, and is refused without the right', (t) => {
      if (!needTools(t, 'podman', 'skopeo', 'umoci')) return;
      const layout = umociBusyboxLayout('v1', 'podman with creds\n');
      const login = podman(
        ['login', '--tls-verify=false', '-u', 'bob', '--password-stdin', berth.host],
        PASSWORD,
      );
      assert.equal(login.status, 0, login.output);
      assert.match(login.output, /Login Succeeded/);
      run('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        `bob:${PASSWORD}`,
        `oci:${layout}:v1`,
        `docker://${berth.host}/bob/base:1`,
      ]);
      const pulled = podman(['pull', '--tls-verify=false', `${berth.host}/bob/base:1`]);
      assert.equal(pulled.status, 0, pulled.output);
      const id = `${berth.host}/bob/base:1`;
      const mine = podman([
        'push',
        '--tls-verify=false',
        id,
        `docker://${berth.host}/bob/podman:1`,
      ]);
      assert.equal(mine.status, 0, mine.output);
      const theirs = podman([
        'push',
        '--tls-verify=false',
        id,
        `docker://${berth.host}/acme/podman:1`,
      ]);
      assert.notEqual(theirs.status, 0);
      // podman asks with HEAD first, so it reports the status without the body's reason.
      assert.match(theirs.output, /403 \(Forbidden\)|denied/);
      assert.equal(podman(['logout', berth.host]).status, 0);
    });
  },
);
