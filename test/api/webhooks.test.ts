/**
 * Webhooks through the management API with real receivers on 127.0.0.1: the three payload
 * formats signed the Standard Webhooks way, scopes and filters, delivery in order after a
 * receiver comes back, dead letters and redelivery, the Docker Hub callback, secret rotation,
 * test sends, private-network refusal, who may manage them, and the metrics.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import https from 'node:https';
import { makeSelfSignedCertificate } from '../../src/cli/index.js';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ADMIN, apiOk, createUsers, api } from '../helpers/accounts.js';
import { blob, configBlob, ociManifest } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { startReceiver, waitUntil, type Receiver } from '../helpers/webhook-receiver.js';

const WEBHOOKS = {
  allowPrivateNetworks: true,
  retryBaseMs: 100,
  retryCapMs: 300,
  maxAttempts: 3,
  pollMs: 100,
  circuitThreshold: 1000,
};

/** Pushes a small image to `repo:tag` as `authorization`; returns the manifest digest. */
async function push(
  app: FastifyInstance,
  authorization: string,
  repo: string,
  tag: string,
): Promise<string> {
  const config = configBlob({ repo, tag, at: Math.random() });
  const layer = blob(`${repo}:${tag}:${Math.random()}`);
  for (const b of [config, layer]) {
    const start = await app.inject({
      method: 'POST',
      url: `/v2/${repo}/blobs/uploads/`,
      headers: { authorization },
    });
    assert.equal(start.statusCode, 202, start.body);
    const done = await app.inject({
      method: 'PUT',
      url: `${start.headers.location}?digest=${b.digest}`,
      headers: { authorization, 'content-type': 'application/octet-stream' },
      payload: b.bytes,
    });
    assert.equal(done.statusCode, 201, done.body);
  }
  const m = ociManifest(config, [layer]);
  const res = await app.inject({
    method: 'PUT',
    url: `/v2/${repo}/manifests/${tag}`,
    headers: {
      authorization,
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
      host: 'registry.test:5000',
    },
    payload: m.bytes,
  });
  assert.equal(res.statusCode, 201, res.body);
  return m.digest;
}

/** The receiver's side of a signature check, as the README shows it. */
function verifies(secret: string, headers: Record<string, unknown>, body: string): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signed = `${String(headers['webhook-id'])}.${String(headers['webhook-timestamp'])}.${body}`;
  const expected = createHmac('sha256', key).update(signed).digest('base64');
  return String(headers['webhook-signature'])
    .split(' ')
    .some((s) => s === `v1,${expected}`);
}

describe('webhooks', () => {
  let t: TestApp;
  let users: Record<string, string>;
  const receivers: Receiver[] = [];
  const receiver = async (): Promise<Receiver> => {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  };
  const addHook = async (path: string, body: Record<string, unknown>, who = ADMIN) =>
    (await apiOk(t.app, 201, 'POST', path, who, body)).json<{
      webhook: { id: number };
      secret: string;
    }>();

  before(async () => {
    t = await testApp({ auth: { mode: 'token' }, webhooks: WEBHOOKS });
    users = await createUsers(t.app, ['hookowner', 'stranger']);
    await apiOk(t.app, 201, 'POST', '/api/v1/orgs', users.hookowner, { name: 'hooks' });
  });
  after(async () => {
    await t.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('delivers a push in the hub, distribution and CloudEvents formats, signed', async () => {
    await push(t.app, users.hookowner!, 'hooks/app', 'v0');
    const [hub, dist, ce] = [await receiver(), await receiver(), await receiver()];
    const hooks = [
      await addHook('/api/v1/repositories/hooks/app/_webhooks', { url: hub.url }, users.hookowner),
      await addHook(
        '/api/v1/namespaces/hooks/webhooks',
        { url: dist.url, format: 'distribution' },
        users.hookowner,
      ),
      await addHook('/api/v1/webhooks', { url: ce.url, format: 'cloudevents' }),
    ];
    const digest = await push(t.app, users.hookowner!, 'hooks/app', 'v1');
    for (const r of [hub, dist, ce]) await r.until((g) => g.length >= 1, 'the push delivery');

    const h = hub.received[0]!;
    assert.ok(verifies(hooks[0]!.secret, h.headers, h.body), 'the signature verifies');
    assert.ok(!verifies(hooks[1]!.secret, h.headers, h.body), 'not with another secret');
    const payload = h.json as {
      callback_url: string;
      push_data: { tag: string; pusher: string; images: string[] };
      repository: Record<string, unknown>;
    };
    assert.equal(payload.push_data.tag, 'v1');
    assert.equal(payload.push_data.pusher, 'hookowner');
    assert.deepEqual(payload.push_data.images, [digest]);
    assert.equal(payload.repository.repo_name, 'hooks/app');
    assert.equal(payload.repository.namespace, 'hooks');
    assert.equal(payload.repository.name, 'app');
    assert.equal(payload.repository.is_private, true);
    assert.match(payload.callback_url, /^http:\/\/registry\.test:5000\/api\/v1\/webhooks\/\d+\//);

    const d = dist.received[0]!;
    assert.equal(d.headers['content-type'], 'application/vnd.docker.distribution.events.v2+json');
    const envelope = d.json as { events: { action: string; target: Record<string, unknown> }[] };
    assert.equal(envelope.events[0]!.action, 'push');
    assert.equal(envelope.events[0]!.target.tag, 'v1');
    assert.equal(envelope.events[0]!.target.digest, digest);
    assert.ok(verifies(hooks[1]!.secret, d.headers, d.body));

    const c = ce.received[0]!;
    assert.equal(c.headers['content-type'], 'application/cloudevents+json');
    const cloud = c.json as { specversion: string; type: string; subject: string };
    assert.equal(cloud.specversion, '1.0');
    assert.equal(cloud.type, 'io.berth.manifest.pushed');
    assert.equal(cloud.subject, 'hooks/app:v1');

    // The receiver reports back on the Hub delivery through its callback_url.
    const callbackPath = new URL(payload.callback_url).pathname;
    await apiOk(t.app, 204, 'POST', callbackPath, undefined, { state: 'success' });
    const forged = callbackPath.replace(/[^/]+$/, 'forged-token');
    await apiOk(t.app, 404, 'POST', forged, undefined, { state: 'failure' });
    const log = (
      await apiOk(t.app, 200, 'GET', `/api/v1/webhooks/${hooks[0]!.webhook.id}/deliveries`, ADMIN)
    ).json<{ id: number; state: string; callback: { state: string } | null }[]>();
    assert.equal(log[0]!.state, 'succeeded');
    assert.equal(log[0]!.callback?.state, 'success');
    const detail = (
      await apiOk(
        t.app,
        200,
        'GET',
        `/api/v1/webhooks/${hooks[0]!.webhook.id}/deliveries/${log[0]!.id}`,
        ADMIN,
      )
    ).json<{ body: string; log: { status: number; requestHeaders: Record<string, string> }[] }>();
    assert.equal(detail.log[0]!.status, 200);
    assert.match(detail.log[0]!.requestHeaders['webhook-signature']!, /^v1,/);
    assert.equal(detail.body, h.body);
    for (const hook of hooks)
      await apiOk(t.app, 204, 'DELETE', `/api/v1/webhooks/${hook.webhook.id}`, ADMIN);
  });

  it('applies scopes and filters: tags, repository globs, excluded actors, event types', async () => {
    const r = await receiver();
    const hook = await addHook(
      '/api/v1/namespaces/hooks/webhooks',
      {
        url: r.url,
        format: 'distribution',
        events: ['manifest.pushed', 'tag.deleted'],
        filters: { tags: 'release-.*', repositories: 'hooks/svc-*', excludeActors: ['admin'] },
      },
      users.hookowner,
    );
    await push(t.app, users.hookowner!, 'hooks/svc-a', 'dev');
    await push(t.app, users.hookowner!, 'hooks/other', 'release-1');
    await push(t.app, ADMIN, 'hooks/svc-a', 'release-2');
    await push(t.app, users.hookowner!, 'hookowner/svc-a', 'release-3');
    await push(t.app, users.hookowner!, 'hooks/svc-b', 'release-4');
    await r.until((g) => g.length >= 1, 'the matching push');
    // Everything pushed before release-4 was handled first; give the queue time to prove no more.
    await waitUntil(
      async () => (await t.berth.meta.webhooks.queue()).pending === 0,
      'an empty queue',
    );
    const tags = r.received.map(
      (g) => (g.json as { events: { target: { tag: string } }[] }).events[0]!.target.tag,
    );
    assert.deepEqual(tags, ['release-4']);
    await apiOk(t.app, 204, 'DELETE', `/api/v1/webhooks/${hook.webhook.id}`, users.hookowner);
  });

  it('keeps deliveries while the receiver is down and delivers them in order once it is back', async () => {
    const r = await receiver();
    r.answer = 503;
    await push(t.app, users.hookowner!, 'hooks/queue', 'seed');
    const hook = await addHook(
      '/api/v1/repositories/hooks/queue/_webhooks',
      { url: r.url, format: 'distribution' },
      users.hookowner,
    );
    for (const tag of ['q1', 'q2', 'q3']) await push(t.app, users.hookowner!, 'hooks/queue', tag);
    await r.until(() => r.all.length >= 2, 'failed attempts while down');
    r.answer = 200;
    await r.until((g) => g.length >= 3, 'every delivery once the receiver is back');
    const tags = r.received.map(
      (g) => (g.json as { events: { target: { tag: string } }[] }).events[0]!.target.tag,
    );
    assert.deepEqual(tags, ['q1', 'q2', 'q3']);
    await apiOk(t.app, 204, 'DELETE', `/api/v1/webhooks/${hook.webhook.id}`, ADMIN);
  });

  it('dead-letters after the configured attempts and redelivers by hand', async () => {
    const r = await receiver();
    r.answer = 500;
    await push(t.app, users.hookowner!, 'hooks/dead', 'seed');
    const hook = await addHook(
      '/api/v1/repositories/hooks/dead/_webhooks',
      { url: r.url },
      users.hookowner,
    );
    const id = hook.webhook.id;
    await push(t.app, users.hookowner!, 'hooks/dead', 'd1');
    await waitUntil(async () => {
      const log = (
        await api(t.app, 'GET', `/api/v1/webhooks/${id}/deliveries?state=dead`, ADMIN)
      ).json<unknown[]>();
      return log.length === 1;
    }, 'a dead letter');
    assert.equal(r.all.length, WEBHOOKS.maxAttempts);
    const [dead] = (
      await apiOk(t.app, 200, 'GET', `/api/v1/webhooks/${id}/deliveries`, ADMIN)
    ).json<{ id: number; attempts: number; lastStatus: number }[]>();
    assert.equal(dead!.attempts, WEBHOOKS.maxAttempts);
    assert.equal(dead!.lastStatus, 500);
    r.answer = 200;
    const again = await apiOk(
      t.app,
      202,
      'POST',
      `/api/v1/webhooks/${id}/redeliver`,
      users.hookowner,
    );
    assert.deepEqual(again.json(), { queued: 1 });
    await r.until((g) => g.length === 1, 'the redelivery');
    assert.equal((r.received[0]!.json as { push_data: { tag: string } }).push_data.tag, 'd1');
  });

  it('signs with both secrets while one is rotated out, and sends test events', async () => {
    const r = await receiver();
    const hook = await addHook('/api/v1/webhooks', { url: r.url, events: ['manifest.pushed'] });
    const rotated = (
      await apiOk(t.app, 200, 'POST', `/api/v1/webhooks/${hook.webhook.id}/secret`, ADMIN, {})
    ).json<{ secret: string; webhook: { secrets: unknown[] } }>();
    assert.equal(rotated.webhook.secrets.length, 2);
    const test = (
      await apiOk(t.app, 200, 'POST', `/api/v1/webhooks/${hook.webhook.id}/test`, ADMIN)
    ).json<{ status: number; state: string }>();
    assert.deepEqual([test.status, test.state], [200, 'succeeded']);
    const got = r.received[0]!;
    assert.ok(verifies(hook.secret, got.headers, got.body), 'the old secret still verifies');
    assert.ok(verifies(rotated.secret, got.headers, got.body), 'the new one too');
    await apiOk(t.app, 204, 'DELETE', `/api/v1/webhooks/${hook.webhook.id}`, ADMIN);
  });

  it('reaches HTTPS endpoints through a custom CA, with custom headers kept secret', async () => {
    const pem = await makeSelfSignedCertificate(['127.0.0.1'], 1);
    const got: { headers: Record<string, unknown> }[] = [];
    const server = https.createServer({ cert: pem.cert, key: pem.key }, (req, res) => {
      got.push({ headers: req.headers });
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    try {
      const trusted = await addHook('/api/v1/webhooks', {
        url,
        caCert: pem.cert,
        headers: { 'X-Receiver-Token': 'receiver-secret-1' },
      });
      const sent = await apiOk(
        t.app,
        200,
        'POST',
        `/api/v1/webhooks/${trusted.webhook.id}/test`,
        ADMIN,
      );
      assert.deepEqual([sent.json().status, sent.json().state], [204, 'succeeded']);
      assert.equal(got[0]!.headers['x-receiver-token'], 'receiver-secret-1');
      const view = await apiOk(t.app, 200, 'GET', `/api/v1/webhooks/${trusted.webhook.id}`, ADMIN);
      assert.deepEqual(view.json().headers, ['X-Receiver-Token']);
      assert.ok(!view.body.includes('receiver-secret-1'));
      const [logged] = (
        await apiOk(t.app, 200, 'GET', `/api/v1/webhooks/${trusted.webhook.id}/deliveries`, ADMIN)
      ).json<{ id: number }[]>();
      const detail = await apiOk(
        t.app,
        200,
        'GET',
        `/api/v1/webhooks/${trusted.webhook.id}/deliveries/${logged!.id}`,
        ADMIN,
      );
      assert.ok(!detail.body.includes('receiver-secret-1'), 'the log redacts custom headers');
      const row = await t.berth.meta.webhooks.byId(trusted.webhook.id);
      assert.ok(!row!.headers!.includes('receiver-secret-1'), 'sealed at rest');

      const untrusted = await addHook('/api/v1/webhooks', { url });
      const refused = await apiOk(
        t.app,
        200,
        'POST',
        `/api/v1/webhooks/${untrusted.webhook.id}/test`,
        ADMIN,
      );
      assert.equal(refused.json().state, 'dead');
      assert.match(refused.json().error, /certificate/);
      for (const id of [trusted.webhook.id, untrusted.webhook.id])
        await apiOk(t.app, 204, 'DELETE', `/api/v1/webhooks/${id}`, ADMIN);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('lets only administrators of the scope manage webhooks, and shows no secrets', async () => {
    const body = { url: 'http://127.0.0.1:9/hook' };
    await apiOk(t.app, 403, 'POST', '/api/v1/namespaces/hooks/webhooks', users.stranger, body);
    await apiOk(t.app, 403, 'POST', '/api/v1/webhooks', users.hookowner, body);
    await apiOk(t.app, 401, 'POST', '/api/v1/webhooks', undefined, body);
    const mine = await addHook('/api/v1/namespaces/hookowner/webhooks', body, users.hookowner);
    await apiOk(t.app, 403, 'GET', `/api/v1/webhooks/${mine.webhook.id}`, users.stranger);
    await apiOk(t.app, 403, 'DELETE', `/api/v1/webhooks/${mine.webhook.id}`, users.stranger);
    const shown = await apiOk(
      t.app,
      200,
      'GET',
      `/api/v1/webhooks/${mine.webhook.id}`,
      users.hookowner,
    );
    assert.ok(!shown.body.includes(mine.secret.slice(6, 20)), 'the secret is never shown again');
    const row = await t.berth.meta.webhooks.byId(mine.webhook.id);
    assert.ok(!row!.secrets.includes(mine.secret.slice(6, 20)), 'sealed at rest');
    await apiOk(t.app, 400, 'POST', '/api/v1/webhooks', ADMIN, { url: 'ftp://x/' });
    await apiOk(t.app, 400, 'POST', '/api/v1/webhooks', ADMIN, { ...body, events: ['nope'] });
    await apiOk(t.app, 400, 'POST', '/api/v1/webhooks', ADMIN, { ...body, filters: { tags: '(' } });
    await apiOk(t.app, 400, 'POST', '/api/v1/webhooks', ADMIN, {
      ...body,
      headers: { 'webhook-signature': 'x' },
    });
  });

  it('counts deliveries and the queue in the metrics', async () => {
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(text, /berth_webhook_deliveries_total\{outcome="success"\} [1-9]/);
    assert.match(text, /berth_webhook_deliveries_total\{outcome="dead"\} [1-9]/);
    assert.match(text, /berth_webhook_queue_depth \d+/);
    assert.match(text, /berth_webhook_oldest_pending_seconds \d/);
  });
});

describe('webhook destinations', () => {
  it('refuses loopback and private addresses unless an administrator allows them', async () => {
    const t = await testApp({ auth: { mode: 'token' } });
    try {
      for (const url of [
        'http://127.0.0.1:8080/',
        'http://10.1.2.3/',
        'http://[::1]/',
        'http://localhost/',
      ])
        await apiOk(t.app, 400, 'POST', '/api/v1/webhooks', ADMIN, { url });
    } finally {
      await t.close();
    }
    const allowed = await testApp({ auth: { mode: 'token' }, webhooks: { allow: ['127.0.0.1'] } });
    try {
      await apiOk(allowed.app, 201, 'POST', '/api/v1/webhooks', ADMIN, {
        url: 'http://127.0.0.1:9/',
      });
      await apiOk(allowed.app, 400, 'POST', '/api/v1/webhooks', ADMIN, { url: 'http://10.0.0.1/' });
    } finally {
      await allowed.close();
    }
  });
});
