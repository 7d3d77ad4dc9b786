/** The control plane's pure parts: image references, levels, join tokens, node certificates and proofs. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SecretBox } from '../kit/index.js';
import type { Meta } from '../meta/index.js';
import { atLeast, labelsMatch } from './access.js';
import { parseImage } from './admission.js';
import { ClusterCa, clusterCaOnFirstUse } from './cluster-ca.js';
import { parseJoinToken } from './join-tokens.js';
import { nodeProof, proofHolds } from './node-auth.js';

/** A database holding only the CA row. */
function caStore(): Meta {
  let saved: { certificate: string; sealedKey: string } | undefined;
  return {
    cluster: {
      ca: async () => saved,
      saveCa: async (certificate: string, sealedKey: string) =>
        (saved ??= { certificate, sealedKey }),
    },
  } as unknown as Meta;
}

describe('control plane pieces', () => {
  it('splits image references, Berth-local names included', () => {
    assert.deepEqual(parseImage('alice/app'), {
      registry: null,
      repository: 'alice/app',
      tag: 'latest',
      digest: null,
    });
    assert.deepEqual(parseImage('127.0.0.1:5000/alice/app:1'), {
      registry: '127.0.0.1:5000',
      repository: 'alice/app',
      tag: '1',
      digest: null,
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(parseImage(`registry.example/x/y@${digest}`).digest, digest);
    assert.equal(parseImage(`registry.example/x/y@${digest}`).tag, null);
    assert.equal(parseImage('localhost/app:2').registry, 'localhost');
    for (const bad of ['Alice/App', 'a/b:bad tag', `x@sha256:zz`, ''])
      assert.throws(() => parseImage(bad), /not an image reference/);
  });

  it('matches labels and orders levels', () => {
    assert.ok(labelsMatch({ zone: 'a', env: 'prod' }, { env: 'prod' }));
    assert.ok(labelsMatch({}, {}));
    assert.ok(!labelsMatch({ env: 'dev' }, { env: 'prod' }));
    assert.ok(atLeast('full', 'operate'));
    assert.ok(!atLeast('view', 'operate'));
    assert.ok(!atLeast(undefined, 'view'));
  });

  it('reads join tokens only in their one form', () => {
    const token = `bjt1.${'ab'.repeat(8)}.0123abcd.${'x'.repeat(43)}`;
    assert.deepEqual(parseJoinToken(token), {
      fingerprint: 'ab'.repeat(8),
      id: '0123abcd',
      secret: 'x'.repeat(43),
    });
    for (const bad of ['bjt1.short', token.replace('bjt1', 'bjt2'), `${token}x`])
      assert.equal(parseJoinToken(bad), undefined);
  });

  it('certifies node keys, and refuses certificates of another CA and proofs by another key', async () => {
    const box = new SecretBox(randomBytes(32));
    const ca = await ClusterCa.open(caStore(), box);
    const other = await ClusterCa.open(caStore(), box);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const issued = await ca.issue('n123', pem, 1);
    const verified = ca.verify(issued.certificate);
    assert.equal(verified?.nodeId, 'n123');
    assert.equal(verified?.serial, issued.serial);
    assert.equal(other.verify(issued.certificate), undefined, 'another cluster');
    assert.equal(ca.verify('not a certificate'), undefined);
    assert.equal(ca.verify(issued.certificate, Date.now() + 3 * 86_400_000), undefined, 'expired');
    const proof = await nodeProof('n123', privateKey);
    assert.ok(await proofHolds(proof, verified!.publicKey, 'n123'));
    assert.ok(!(await proofHolds(proof, verified!.publicKey, 'n999')), 'for another node');
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.ok(
      !(await proofHolds(
        await nodeProof('n123', stranger.privateKey),
        verified!.publicKey,
        'n123',
      )),
    );
    // The CA key is made once and kept: opening again gives the same CA.
    const store = caStore();
    const first = await ClusterCa.open(store, box);
    assert.equal((await ClusterCa.open(store, box)).fingerprint, first.fingerprint);
  });

  it('makes the cluster CA only when it is first needed, once, and tries again after a failure', async () => {
    const box = new SecretBox(randomBytes(32));
    let reads = 0;
    let failNext = false;
    const inner = caStore();
    const store = {
      cluster: {
        ca: async () => {
          reads += 1;
          if (failNext) {
            failNext = false;
            throw new Error('database unavailable');
          }
          return inner.cluster.ca();
        },
        saveCa: inner.cluster.saveCa,
      },
    } as unknown as Meta;
    const ca = clusterCaOnFirstUse(store, box);
    assert.equal(reads, 0, 'nothing is opened before the first need');
    failNext = true;
    await assert.rejects(ca(), /database unavailable/);
    const [a, b] = await Promise.all([ca(), ca()]);
    assert.equal(a, b, 'concurrent needs share one open');
    assert.equal(reads, 2, 'the failed open was tried again, once');
    assert.equal((await ca()).fingerprint, a.fingerprint);
    assert.equal(reads, 2);
  });
});
