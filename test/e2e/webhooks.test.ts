/**
 * Webhooks end to end, with real receivers on 127.0.0.1: `docker push` by a signed-in user
 * reaches a Hub-format webhook (added with the `berth webhook` CLI), a distribution-format and a
 * CloudEvents webhook, signed; pulls, logins and uploads reach the audit log with actor and
 * address; a push acknowledged while the receiver is down survives a kill -9 of Berth and is
 * delivered after the restart; two replicas on PostgreSQL deliver each event exactly once.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { blob, configBlob, ociManifest } from '../helpers/content.js';
import { busyboxContext, startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { pushBlobOverHttp, putManifestOverHttp } from '../helpers/http-calls.js';
import { dropPostgres, freshPostgresUrl } from '../helpers/in-process.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';
import { startReceiver, waitUntil, type Receiver } from '../helpers/webhook-receiver.js';

const ADMIN_PASSWORD = 'webhook-admin-password';
const ADMIN = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
const FAST_RETRIES = {
  BERTH_WEBHOOKS_ALLOW: '127.0.0.1',
  BERTH_WEBHOOKS_RETRY_BASE_MS: '200',
  BERTH_WEBHOOKS_RETRY_CAP_MS: '500',
  BERTH_WEBHOOKS_POLL_MS: '200',
  BERTH_TRUST_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
};
const TOOLS = ['dockerd', 'docker', 'busybox'];

/** Calls the management API of `base` as `authorization`. */
async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  authorization = ADMIN,
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The receiver's side of the signature check, exactly as the README shows it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the README's plain-JavaScript code, as is
function verified(secret: string, headers: Record<string, any>, body: string): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signed = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`;
  const expected = Buffer.from(`v1,${createHmac('sha256', key).update(signed).digest('base64')}`);
  const fresh = Math.abs(Date.now() / 1000 - Number(headers['webhook-timestamp'])) < 300;
  return (
    fresh &&
    headers['webhook-signature'].split(' ').some((s: string) => {
      const given = Buffer.from(s);
      return given.length === expected.length && timingSafeEqual(given, expected);
    })
  );
}

/** Runs the `berth` CLI on `data`, with `input` on standard input. */
function berth(args: string[], data: string, input?: string): string {
  const r = spawnSync(process.execPath, [BERTH_BIN, ...args, '--data', data], {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...FAST_RETRIES, BERTH_LOG_LEVEL: 'warn' },
  });
  assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Pushes a small image over HTTP (auth off) and returns its digest. */
async function pushOver(url: string, repo: string, tag: string): Promise<string> {
  const config = configBlob({ repo, tag });
  const layer = blob(`${repo}:${tag}`);
  await pushBlobOverHttp(url, repo, config);
  await pushBlobOverHttp(url, repo, layer);
  const m = ociManifest(config, [layer]);
  assert.equal(await putManifestOverHttp(url, repo, tag, m), 201);
  return m.digest;
}

describe('webhooks with docker push', { skip: skipUnlessTools(TOOLS) }, () => {
  let server: SpawnedBerth;
  let engine: PrivateDockerd;
  const receivers: Receiver[] = [];

  before(async () => {
    server = await spawnBerth({ auth: 'token', adminPassword: ADMIN_PASSWORD, env: FAST_RETRIES });
    engine = await startDockerd();
  });
  after(async () => {
    await engine?.stop();
    await server?.stop();
    if (server) removeDir(server.data);
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('delivers a docker push in three formats, signed, and audits uploads, pulls and logins', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const [hub, dist, ce] = [await startReceiver(), await startReceiver(), await startReceiver()];
    receivers.push(hub, dist, ce);
    assert.equal(
      (
        await call(server.url, 'POST', '/api/v1/users', {
          name: 'alice',
          password: 'alice-password-1',
        })
      ).status,
      201,
    );
    // The Hub webhook is added with the CLI, the secret given on standard input.
    const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const added = berth(
      ['webhook', 'add', '--namespace', 'alice', '--url', hub.url, '--secret-stdin'],
      server.data,
      secret,
    );
    assert.match(added, /created webhook \d+/);
    const hubId = /created webhook (\d+)/.exec(added)![1]!;
    assert.match(
      berth(['webhook', 'list', '--namespace', 'alice'], server.data),
      new RegExp(hub.url),
    );
    const distHook = await call(server.url, 'POST', '/api/v1/namespaces/alice/webhooks', {
      url: dist.url,
      format: 'distribution',
    });
    const ceHook = await call(server.url, 'POST', '/api/v1/webhooks', {
      url: ce.url,
      format: 'cloudevents',
      events: ['manifest.pushed', 'login'],
    });
    assert.equal(distHook.status, 201);
    assert.equal(ceHook.status, 201);

    engine.docker(['login', '-u', 'alice', '--password-stdin', server.host], {
      input: 'alice-password-1',
    });
    const ref = `${server.host}/alice/busybox:1.0`;
    engine.docker(['build', '-q', '-t', ref, busyboxContext()]);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(engine.docker(['push', ref]))![1]!;

    await hub.until((g) => g.length >= 1, 'the Hub delivery');
    const h = hub.received[0]!;
    assert.ok(verified(secret, h.headers, h.body), 'the signature verifies');
    const payload = h.json as {
      push_data: { tag: string; pusher: string; images: string[] };
      repository: { repo_name: string; namespace: string; name: string };
    };
    assert.equal(payload.push_data.tag, '1.0');
    assert.equal(payload.push_data.pusher, 'alice');
    assert.deepEqual(payload.push_data.images, [digest]);
    assert.deepEqual(
      [payload.repository.repo_name, payload.repository.namespace, payload.repository.name],
      ['alice/busybox', 'alice', 'busybox'],
    );
    await dist.until((g) => g.length >= 1, 'the distribution delivery');
    const envelope = dist.received[0]!.json as {
      events: { action: string; target: { tag: string; digest: string } }[];
    };
    assert.deepEqual(
      [
        envelope.events[0]!.action,
        envelope.events[0]!.target.tag,
        envelope.events[0]!.target.digest,
      ],
      ['push', '1.0', digest],
    );
    await ce.until(
      (g) => g.some((r) => (r.json as { type: string }).type === 'io.berth.manifest.pushed'),
      'the CloudEvents push',
    );
    assert.ok(
      ce.received.some((r) => (r.json as { type: string }).type === 'io.berth.login'),
      'logins are events too',
    );

    // The delivery log, through the CLI.
    assert.match(
      berth(['webhook', 'deliveries', hubId], server.data),
      /manifest\.pushed\s+succeeded\s+1\s+200/,
    );

    engine.docker(['rmi', ref]);
    engine.docker(['pull', ref]);
    const audited = async (action: string) =>
      ((await call(server.url, 'GET', `/api/v1/audit?action=${action}&actor=alice`)).json
        .entries as { address: string; target: string }[]) ?? [];
    await waitUntil(
      async () => (await audited('manifest.pull')).length > 0,
      'the pull in the audit log',
    );
    const alice = `Basic ${Buffer.from('alice:alice-password-1').toString('base64')}`;
    const deleted = await call(
      server.url,
      'DELETE',
      '/api/v1/images/alice/busybox/tags/1.0',
      undefined,
      alice,
    );
    assert.equal(deleted.status, 204);
    await waitUntil(
      async () => (await audited('tag.delete')).length > 0,
      'the deletion in the audit log',
    );
    for (const action of ['manifest.pull', 'manifest.push', 'blob.push', 'login', 'tag.delete']) {
      const entries = await audited(action);
      assert.ok(entries.length > 0, `${action} is audited`);
      assert.equal(entries[0]!.address, '127.0.0.1');
    }
  });
});

describe('webhook deliveries across a kill -9', () => {
  it('delivers a push acknowledged while the receiver was down after Berth restarts', async () => {
    const data = tempDir('hook-kill');
    const down = await startReceiver();
    const port = down.port;
    await down.close(); // Nothing listens there now: every attempt fails.
    let server = await spawnBerth({ data, env: FAST_RETRIES });
    try {
      berth(
        [
          'webhook',
          'add',
          '--global',
          '--url',
          `http://127.0.0.1:${port}/hook`,
          '--format',
          'distribution',
        ],
        data,
      );
      const digest = await pushOver(server.url, 'crash/app', 'v1');
      await waitUntil(
        () =>
          /manifest\.pushed\s+pending\s+[1-9]/.test(berth(['webhook', 'deliveries', '1'], data)),
        'a failed attempt',
      );
      await server.kill();
      const back = await startReceiver(port);
      try {
        server = await spawnBerth({ data, env: FAST_RETRIES });
        await back.until((g) => g.length >= 1, 'the delivery after the restart');
        const events = (back.received[0]!.json as { events: { target: { digest: string } }[] })
          .events;
        assert.equal(events[0]!.target.digest, digest);
        await waitUntil(
          () => /manifest\.pushed\s+succeeded/.test(berth(['webhook', 'deliveries', '1'], data)),
          'the delivery log to show it',
        );
        assert.equal(back.received.length, 1, 'delivered once');
      } finally {
        await back.close();
      }
    } finally {
      await server.stop();
      removeDir(data);
    }
  });
});

describe(
  'webhooks from two replicas on PostgreSQL',
  {
    skip:
      !process.env.BERTH_TEST_PG &&
      !process.env.CI &&
      'needs BERTH_TEST_PG (scripts/test.sh starts a PostgreSQL for it)',
  },
  () => {
    it('delivers each event once, in order per webhook', async () => {
      if (!process.env.BERTH_TEST_PG)
        throw new Error('CI is set and this test needs BERTH_TEST_PG');
      process.env.BERTH_TEST_DB = 'postgres';
      const url = (await freshPostgresUrl())!;
      delete process.env.BERTH_TEST_DB;
      const env = { ...FAST_RETRIES, BERTH_DATABASE_URL: url };
      const shared = tempDir('hook-replicas');
      const receiver = await startReceiver();
      const a = await spawnBerth({ data: shared, env });
      const b = await spawnBerth({ data: shared, env });
      try {
        const hook = spawnSync(
          process.execPath,
          [
            BERTH_BIN,
            'webhook',
            'add',
            '--global',
            '--url',
            receiver.url,
            '--format',
            'distribution',
            '--data',
            shared,
          ],
          { encoding: 'utf8', env: { ...process.env, ...env } },
        );
        assert.equal(hook.status, 0, hook.stderr);
        const tags: string[] = [];
        for (let i = 0; i < 12; i++) {
          const tag = `t${i}`;
          tags.push(tag);
          await pushOver(i % 2 === 0 ? a.url : b.url, 'replicated/app', tag);
        }
        await receiver.until((g) => g.length >= tags.length, 'every push delivered');
        // Both replicas poll the queue; give the second a chance to send anything twice.
        await new Promise((r) => setTimeout(r, 1_500));
        const got = receiver.received.map(
          (r) => (r.json as { events: { target: { tag: string } }[] }).events[0]!.target.tag,
        );
        assert.deepEqual(got, tags, 'each once, in push order');
      } finally {
        await a.stop();
        await b.stop();
        await receiver.close();
        removeDir(shared);
        await dropPostgres(url);
      }
    });
  },
);
