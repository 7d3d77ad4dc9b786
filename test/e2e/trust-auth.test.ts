/**
 * Content trust with accounts on: docker's trusted push and pull and the notary CLI through
 * Berth's token flow over HTTPS (a `berth tls self-signed` certificate), refusals for outsiders
 * and pull-only tokens, and the signed-tags requirement enforced on docker and skopeo alike.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { basic, httpsCall } from '../helpers/https-call.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { attempt, needTools, run, skipUnlessTools } from '../helpers/tools.js';
import { waitUntil } from '../helpers/wait.js';

const ADMIN_PASSWORD = 'trust-admin-password';
const PASSWORD = 'trust-user-password';
const TOOLS = ['dockerd', 'docker', 'busybox', 'notary', 'skopeo'];

describe(
  'content trust with accounts and the signed-tags policy',
  { skip: skipUnlessTools(TOOLS) },
  () => {
    let dir: string;
    let berth: SpawnedBerth;
    let engine: PrivateDockerd;
    let ca: string;
    let certFile: string;
    let host: string;
    let gun: string;
    const api = (user: string, password: string, method: string, apiPath: string, body?: unknown) =>
      httpsCall(`https://${host}${apiPath}`, ca, {
        method,
        headers: {
          authorization: basic(user, password),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const trustEnv = (): NodeJS.ProcessEnv => ({
      ...engine.env,
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root-passphrase',
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'repo-passphrase',
    });
    // Each caller gets its own trust directory: the notary CLI falls back to cached metadata.
    const notary = (auth: string | undefined, args: string[]) =>
      attempt(
        'notary',
        [
          '-s',
          `https://${host}`,
          '-d',
          path.join(dir, `notary-${auth?.split(':')[0] ?? 'anonymous'}`),
          '--tlscacert',
          certFile,
          ...args,
        ],
        {
          env: {
            ...process.env,
            ...(auth ? { NOTARY_AUTH: Buffer.from(auth).toString('base64') } : {}),
          },
        },
      );

    before(async () => {
      dir = tempDir('trust-auth');
      certFile = path.join(dir, 'tls.crt');
      const keyFile = path.join(dir, 'tls.key');
      run(process.execPath, [
        BERTH_BIN,
        'tls',
        'self-signed',
        '--cert',
        certFile,
        '--key',
        keyFile,
      ]);
      ca = readFileSync(certFile, 'utf8');
      berth = await spawnBerth({
        auth: 'token',
        adminPassword: ADMIN_PASSWORD,
        args: ['--tls-cert', certFile, '--tls-key', keyFile],
      });
      host = berth.host;
      gun = `${host}/alice/app`;
      for (const name of ['alice', 'bob']) {
        const made = await api('admin', ADMIN_PASSWORD, 'POST', '/api/v1/users', {
          name,
          password: PASSWORD,
        });
        assert.equal(made.status, 201, made.body);
      }
      engine = await startDockerd();
      engine.docker(['build', '-q', '-t', 'local/busybox:1', busyboxContext()]);
      engine.docker([
        'build',
        '-q',
        '-t',
        'local/other:1',
        derivedContext('local/busybox:1', ['RUN echo other > /other']),
      ]);
      const login = engine.attempt(['login', '-u', 'alice', '--password-stdin', host], {
        input: PASSWORD,
      });
      assert.equal(login.status, 0, login.output);
    });
    after(async () => {
      await engine?.stop();
      await berth?.stop();
      if (berth) removeDir(berth.data);
      if (dir) removeDir(dir);
    });

    it('signs on push, inspects and pulls through the token flow', (t) => {
      if (!needTools(t, ...TOOLS)) return;
      const env = trustEnv();
      engine.docker(['tag', 'local/busybox:1', `${host}/alice/app:signed`]);
      engine.docker(['tag', 'local/other:1', `${host}/alice/app:unsigned`]);
      const pushed = attempt('docker', ['push', `${host}/alice/app:signed`], {
        env: { ...env, DOCKER_CONTENT_TRUST: '1' },
      });
      assert.equal(pushed.status, 0, pushed.output);
      assert.match(pushed.output, /Finished initializing/);
      assert.match(pushed.output, /Successfully signed/);
      engine.docker(['push', `${host}/alice/app:unsigned`]);
      const inspect = attempt('docker', ['trust', 'inspect', '--pretty', `${host}/alice/app`], {
        env,
      });
      assert.equal(inspect.status, 0, inspect.output);
      assert.match(inspect.output, /signed\s+[0-9a-f]{64}/);
      engine.docker(['rmi', `${host}/alice/app:signed`, `${host}/alice/app:unsigned`]);
      const pulled = attempt('docker', ['pull', `${host}/alice/app:signed`], {
        env: { ...env, DOCKER_CONTENT_TRUST: '1' },
      });
      assert.equal(pulled.status, 0, pulled.output);
      assert.match(pulled.output, /Tagging .*@sha256:/);
      const refused = attempt('docker', ['pull', `${host}/alice/app:unsigned`], {
        env: { ...env, DOCKER_CONTENT_TRUST: '1' },
      });
      assert.notEqual(refused.status, 0);
      assert.match(refused.output, /No valid trust data for unsigned|does not have trust data/);
    });

    it('lets the notary CLI read as the owner and refuses outsiders and anonymous callers', (t) => {
      if (!needTools(t, ...TOOLS)) return;
      const owner = notary(`alice:${PASSWORD}`, ['list', gun]);
      assert.equal(owner.status, 0, owner.output);
      assert.match(owner.output, /^signed\s+[0-9a-f]{64}/m);
      const outsider = notary(`bob:${PASSWORD}`, ['list', gun]);
      assert.notEqual(outsider.status, 0);
      assert.match(outsider.output, /not authorized|401/);
      const anonymous = notary(undefined, ['list', gun]);
      assert.notEqual(anonymous.status, 0);
    });

    it('lets the notary CLI publish under the GUN of the repository and refuses another GUN for it', (t) => {
      if (!needTools(t, ...TOOLS)) return;
      const withPassphrases = (args: string[]) => {
        process.env.NOTARY_ROOT_PASSPHRASE = 'root-passphrase';
        process.env.NOTARY_TARGETS_PASSPHRASE = 'repo-passphrase';
        process.env.NOTARY_SNAPSHOT_PASSPHRASE = 'repo-passphrase';
        return notary(`alice:${PASSWORD}`, args);
      };
      const own = `${host}/alice/notary-app`;
      const made = withPassphrases(['init', own, '-p']);
      assert.equal(made.status, 0, made.output);
      const listed = withPassphrases(['list', own]);
      assert.equal(listed.status, 0, listed.output);
      // The same repository named through another host: a second GUN, which Berth refuses.
      const other = `localhost:${berth.port}/alice/notary-app`;
      const refused = withPassphrases(['init', other, '-p']);
      assert.notEqual(refused.status, 0, refused.output);
      assert.match(refused.output, /lives under the GUN|trust data unavailable|not found|404|400/i);
    });

    it('refuses a publish with a pull-only token (401 insufficient_scope), serving reads with it', async (t) => {
      if (!needTools(t, ...TOOLS)) return;
      const visible = await api('alice', PASSWORD, 'PATCH', '/api/v1/repositories/alice/app', {
        visibility: 'public',
      });
      assert.equal(visible.status, 200, visible.body);
      const scope = encodeURIComponent(`repository:${gun}:push,pull`);
      const tokenAnswer = await httpsCall(
        `https://${host}/token?service=berth&scope=${scope}`,
        ca,
        {
          headers: { authorization: basic('bob', PASSWORD) },
        },
      );
      const { token } = JSON.parse(tokenAnswer.body) as { token: string };
      const read = await httpsCall(`https://${host}/v2/${gun}/_trust/tuf/timestamp.json`, ca, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(read.status, 200);
      const boundary = 'berthtestboundary';
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="targets"\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--${boundary}--\r\n`;
      const publish = await httpsCall(`https://${host}/v2/${gun}/_trust/tuf/`, ca, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        body,
      });
      assert.equal(publish.status, 401, publish.body);
      assert.match(String(publish.headers['www-authenticate']), /error="insufficient_scope"/);
      assert.match(
        String(publish.headers['www-authenticate']),
        new RegExp(`scope="repository:${gun}:push,pull"`),
      );
      const anonymousRoot = await httpsCall(`https://${host}/v2/${gun}/_trust/tuf/root.json`, ca);
      assert.equal(anonymousRoot.status, 200);
    });

    it('serves only signed tags when signatures are required, to docker and skopeo alike', async (t) => {
      if (!needTools(t, ...TOOLS)) return;
      const bobTries = await api('bob', PASSWORD, 'PUT', '/api/v1/trust/policies/alice/app', {});
      assert.equal(bobTries.status, 403, bobTries.body);
      const required = await api('alice', PASSWORD, 'PUT', '/api/v1/trust/policies/alice/app', {});
      assert.equal(required.status, 200, required.body);

      const unsigned = engine.attempt(['pull', `${host}/alice/app:unsigned`]);
      assert.notEqual(unsigned.status, 0);
      assert.match(unsigned.output, /alice\/app:unsigned has no signature/);
      const signed = engine.attempt(['pull', `${host}/alice/app:signed`]);
      assert.equal(signed.status, 0, signed.output);
      const skopeo = (tag: string) =>
        attempt('skopeo', [
          'inspect',
          '--tls-verify=false',
          '--creds',
          `alice:${PASSWORD}`,
          `docker://${host}/alice/app:${tag}`,
        ]);
      assert.notEqual(skopeo('unsigned').status, 0);
      assert.equal(skopeo('signed').status, 0, skopeo('signed').output);

      const status = await api('alice', PASSWORD, 'GET', '/api/v1/signatures/alice/app');
      const view = JSON.parse(status.body) as {
        requirement: { scope: string };
        tags: {
          tag: string;
          signed: boolean;
          signers: string[];
          servable: boolean;
          signedAt: string | null;
        }[];
      };
      assert.equal(view.requirement.scope, 'alice/app');
      const byTag = new Map(view.tags.map((s) => [s.tag, s]));
      assert.deepEqual(byTag.get('signed')?.signers, ['repository key']);
      assert.ok(byTag.get('signed')?.signedAt);
      assert.equal(byTag.get('signed')?.servable, true);
      assert.equal(byTag.get('unsigned')?.servable, false);

      // Pulls reach the audit log through the outbox: wait for the consumer, not a fixed time.
      await waitUntil(async () => {
        const audit = await api(
          'admin',
          ADMIN_PASSWORD,
          'GET',
          '/api/v1/audit?action=manifest.pull',
        );
        const { entries } = JSON.parse(audit.body) as {
          entries: { outcome: string; detail: { reference: string } }[];
        };
        return entries.some((e) => e.outcome === 'denied' && e.detail.reference === 'unsigned');
      }, 'the refused pull of the unsigned tag in the audit log');

      const bySigner = await api('alice', PASSWORD, 'PUT', '/api/v1/trust/policies/alice/app', {
        signers: ['alice'],
      });
      assert.equal(bySigner.status, 200, bySigner.body);
      const notByAlice = engine.attempt(['pull', `${host}/alice/app:signed`]);
      assert.notEqual(notByAlice.status, 0);
      assert.match(notByAlice.output, /not signed by alice/);

      const lifted = await api('alice', PASSWORD, 'DELETE', '/api/v1/trust/policies/alice/app');
      assert.equal(lifted.status, 204, lifted.body);
      assert.equal(engine.attempt(['pull', `${host}/alice/app:unsigned`]).status, 0);
    });
  },
);
