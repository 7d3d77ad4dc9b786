import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import type { BerthEvent } from '../model.js';
import { destinationProblem } from './destination.js';
import { payloadOf } from './payloads.js';
import { afterDelivery, CLOSED, mayDeliver, nextAttemptAt, type RetryPolicy } from './retry.js';
import { newWebhookSecret, signatureHeaders, verifySignature } from './signature.js';

const push: BerthEvent = {
  id: 42,
  type: 'manifest.pushed',
  at: Date.UTC(2026, 11, 2, 12, 0, 0),
  actor: { name: 'alice', address: '192.0.2.7', userAgent: 'docker/27' },
  target: {
    repository: 'acme/app',
    tag: 'v1',
    digest: `sha256:${'ab'.repeat(32)}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 1234,
  },
  outcome: 'success',
  registry: 'registry.example.com',
};

describe('webhook signatures (Standard Webhooks)', () => {
  it('signs with every active secret and verifies with any of them', () => {
    const [old, fresh] = [newWebhookSecret(), newWebhookSecret()];
    const body = '{"hello":"world"}';
    const headers = signatureHeaders([old, fresh], 'msg_1', 1_800_000_000, body);
    assert.equal(headers['webhook-signature']!.split(' ').length, 2);
    assert.ok(verifySignature(old, headers, body, 1_800_000_010));
    assert.ok(verifySignature(fresh, headers, body, 1_800_000_010));
    assert.ok(!verifySignature(newWebhookSecret(), headers, body, 1_800_000_010));
    assert.ok(!verifySignature(old, headers, `${body} `, 1_800_000_010), 'altered body');
    assert.ok(!verifySignature(old, headers, body, 1_800_001_000), 'outside the tolerance');
    assert.throws(() => signatureHeaders(['not-a-secret'], 'm', 1, body), /whsec_/);
  });

  it('is what a receiver checks with a few lines of its own', () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ a: 1 });
    const h = signatureHeaders([secret], 'msg_2', 1_800_000_000, body);
    // The receiver's side, as the README shows it:
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key)
      .update(`${h['webhook-id']}.${h['webhook-timestamp']}.${body}`)
      .digest('base64');
    assert.equal(h['webhook-signature'], `v1,${expected}`);
  });
});

describe('webhook payloads', () => {
  it("speaks Docker Hub's push payload", () => {
    const { contentType, body } = payloadOf('hub', [push], {
      repository: { isPrivate: false, description: 'the app', createdAt: push.at - 86_400_000 },
      callbackUrl: 'https://registry.example.com/api/v1/webhooks/callbacks/x',
    });
    assert.equal(contentType, 'application/json');
    const hub = JSON.parse(body) as {
      callback_url: string;
      push_data: { pushed_at: number; pusher: string; tag: string; images: string[] };
      repository: Record<string, unknown>;
    };
    assert.equal(hub.callback_url, 'https://registry.example.com/api/v1/webhooks/callbacks/x');
    assert.deepEqual(hub.push_data.pushed_at, push.at / 1000);
    assert.equal(hub.push_data.pusher, 'alice');
    assert.equal(hub.push_data.tag, 'v1');
    assert.deepEqual(hub.push_data.images, [push.target.digest]);
    assert.equal(hub.repository.repo_name, 'acme/app');
    assert.equal(hub.repository.namespace, 'acme');
    assert.equal(hub.repository.name, 'app');
    assert.equal(hub.repository.is_private, false);
    assert.equal(hub.repository.repo_url, 'https://registry.example.com/acme/app');
  });

  it('speaks the distribution envelope and CloudEvents 1.0', () => {
    const dist = payloadOf('distribution', [push, { ...push, id: 43, type: 'blob.mounted' }]);
    assert.equal(dist.contentType, 'application/vnd.docker.distribution.events.v2+json');
    type DistEvent = { action: string; target: Record<string, unknown>; actor: { name?: string } };
    const { events } = JSON.parse(dist.body) as { events: DistEvent[] };
    assert.deepEqual(
      events.map((e) => e.action),
      ['push', 'mount'],
    );
    assert.equal(events[0]!.target.repository, 'acme/app');
    assert.equal(
      events[0]!.target.url,
      `https://registry.example.com/v2/acme/app/manifests/${push.target.digest}`,
    );
    assert.equal(events[0]!.actor.name, 'alice');
    const ce = payloadOf('cloudevents', [push]);
    assert.equal(ce.contentType, 'application/cloudevents+json');
    const parsed = JSON.parse(ce.body) as Record<string, unknown>;
    assert.equal(parsed.specversion, '1.0');
    assert.equal(parsed.id, '42');
    assert.equal(parsed.type, 'io.berth.manifest.pushed');
    assert.equal(parsed.source, '//registry.example.com');
    assert.equal(parsed.subject, 'acme/app:v1');
    assert.equal(parsed.time, '2026-12-02T12:00:00.000Z');
  });
});

describe('retry pacing and the circuit breaker', () => {
  const policy: RetryPolicy = { baseMs: 1_000, capMs: 60_000, windowMs: 3_600_000 };

  it('backs off exponentially with jitter, up to the cap, and gives up after the window', () => {
    const now = 1_000_000;
    for (const [attempt, backoff] of [
      [1, 1_000],
      [2, 2_000],
      [5, 16_000],
      [12, 60_000],
    ] as const) {
      const low = nextAttemptAt(policy, attempt, now, now, () => 0)!;
      const high = nextAttemptAt(policy, attempt, now, now, () => 1)!;
      assert.equal(low - now, backoff / 2);
      assert.equal(high - now, backoff);
    }
    assert.equal(nextAttemptAt(policy, 3, now - 3_600_000, now), undefined, 'dead letter');
  });

  it('opens after repeated failures, lets a probe through later, and closes on success', () => {
    let circuit = CLOSED;
    for (let i = 0; i < 4; i++) circuit = afterDelivery(circuit, false, 0, 5, 60_000);
    assert.ok(mayDeliver(circuit, 1));
    circuit = afterDelivery(circuit, false, 100, 5, 60_000);
    assert.ok(!mayDeliver(circuit, 30_000));
    assert.ok(mayDeliver(circuit, 60_100), 'the probe');
    assert.deepEqual(afterDelivery(circuit, true, 60_200), CLOSED);
  });
});

describe('webhook destinations', () => {
  const strict = { allowPrivateNetworks: false, allow: [] };
  const resolveTo =
    (...addresses: string[]) =>
    async () =>
      addresses;

  it('refuses loopback and private addresses unless allowed', async () => {
    assert.equal(await destinationProblem('https://203.0.113.10/hook', strict), undefined);
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://10.1.2.3/hook',
      'http://192.168.1.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[fc00::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://0.0.0.0/hook',
    ])
      assert.match((await destinationProblem(url, strict)) ?? '', /loopback or private/, url);
    assert.match(
      (await destinationProblem(
        'https://hooks.example.com/x',
        strict,
        resolveTo('203.0.113.1', '10.0.0.5'),
      )) ?? '',
      /10\.0\.0\.5/,
      'every address a name resolves to is checked',
    );
    assert.equal(
      await destinationProblem('http://127.0.0.1:9/x', {
        allowPrivateNetworks: false,
        allow: ['127.0.0.1'],
      }),
      undefined,
    );
    assert.equal(
      await destinationProblem('http://10.9.9.9/x', {
        allowPrivateNetworks: false,
        allow: ['10.0.0.0/8'],
      }),
      undefined,
    );
    assert.equal(
      await destinationProblem('http://hooks.internal/x', {
        allowPrivateNetworks: false,
        allow: ['hooks.internal'],
      }),
      undefined,
    );
    assert.equal(
      await destinationProblem('http://10.9.9.9/x', { allowPrivateNetworks: true, allow: [] }),
      undefined,
    );
  });

  it('refuses what is not an http(s) URL, credentials in it, and names that do not resolve', async () => {
    assert.match((await destinationProblem('ftp://203.0.113.1/x', strict))!, /http/);
    assert.match((await destinationProblem('https://u:p@203.0.113.1/x', strict))!, /credentials/);
    assert.match((await destinationProblem('nope', strict))!, /not a URL/);
    const failing = async (): Promise<string[]> => {
      throw new Error('ENOTFOUND');
    };
    assert.match(
      (await destinationProblem('https://nowhere.invalid/x', strict, failing))!,
      /does not resolve/,
    );
  });
});
