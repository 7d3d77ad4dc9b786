/**
 * cosign and Notation signatures as policy, in-process: keys are registered per namespace (checked,
 * audited); under a requirement accepting any kind, an image signed with cosign (by tag or as a
 * referrer) or with Notation is served and an unsigned one is DENIED; tampered signatures (a
 * payload naming another digest, a signature over other bytes, a Notation target of another
 * digest, a chain from an untrusted CA) are refused; N-of-M signers; warn mode serves with a
 * Warning header and audit mode serves silently, both recorded; the status API names the kinds;
 * removing a key takes effect at once (verification is cached per key set).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ADMIN, api, apiOk, createUsers } from '../helpers/accounts.js';
import { blob, configBlob, ociManifest, type TestBlob } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import {
  cosignKeyPair,
  cosignPayload,
  cosignSignature,
  notationSignature,
  notationSigner,
  type SignatureArtifact,
} from '../helpers/signatures.js';
import { needTools } from '../helpers/tools.js';
import { waitUntil } from '../helpers/wait.js';

const REPO = 'acme/app';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('cosign and Notation signatures as policy', () => {
  let t: TestApp;
  let u: Record<string, string>;
  const alice = cosignKeyPair();
  const bob = cosignKeyPair();
  const stranger = cosignKeyPair();
  const images = new Map<string, TestBlob>();
  let cosignKeyId: number;

  before(async () => {
    t = await testApp({ auth: { mode: 'token' } });
    u = await createUsers(t.app, ['gina']);
  });
  after(() => t.close());

  const putBlob = (b: TestBlob) =>
    t.berth.registry.uploads.monolithic(REPO, b.digest, Readable.from([b.bytes]));
  const putManifest = (reference: string, m: TestBlob) =>
    t.app.inject({
      method: 'PUT',
      url: `/v2/${REPO}/manifests/${reference}`,
      headers: { authorization: ADMIN, 'content-type': MANIFEST },
      payload: m.bytes,
    });
  const pushImage = async (tag: string) => {
    const config = configBlob({ tag });
    const layer = blob(`layer ${tag}`);
    for (const b of [config, layer]) await putBlob(b);
    const manifest = ociManifest(config, [layer]);
    assert.equal((await putManifest(tag, manifest)).statusCode, 201);
    images.set(tag, manifest);
    return manifest;
  };
  const pushSignature = async (sig: SignatureArtifact) => {
    for (const b of sig.blobs) await putBlob(b);
    const res = await putManifest(sig.reference, sig.manifest);
    assert.equal(res.statusCode, 201, res.body);
  };
  const pull = (tag: string) =>
    t.app.inject({
      method: 'GET',
      url: `/v2/${REPO}/manifests/${tag}`,
      headers: { authorization: ADMIN, accept: MANIFEST },
    });
  const requirement = (body: Record<string, unknown>) =>
    apiOk(t.app, 200, 'PUT', '/api/v1/trust/policies/acme/', ADMIN, body);

  it('registers keys per namespace, checked, by its administrators only', async (ctx) => {
    if (!needTools(ctx, 'openssl')) return;
    const bad = await api(t.app, 'POST', '/api/v1/trust/keys', ADMIN, {
      scope: 'acme/',
      kind: 'cosign',
      name: 'broken',
      pem: 'not a key',
    });
    assert.equal(bad.statusCode, 400);
    const denied = await api(t.app, 'POST', '/api/v1/trust/keys', u.gina, {
      scope: 'acme/',
      kind: 'cosign',
      name: 'alice',
      pem: alice.publicPem,
    });
    assert.equal(denied.statusCode, 403);
    const added = await apiOk(t.app, 201, 'POST', '/api/v1/trust/keys', ADMIN, {
      scope: 'acme/',
      kind: 'cosign',
      name: 'alice',
      pem: alice.publicPem,
    });
    cosignKeyId = added.json<{ id: number }>().id;
    assert.match(
      added.json<{ fingerprint: string }>().fingerprint,
      /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/,
    );
    await apiOk(t.app, 201, 'POST', '/api/v1/trust/keys', ADMIN, {
      scope: 'acme/',
      kind: 'cosign',
      name: 'bob',
      pem: bob.publicPem,
    });
    const notary = notationSigner('Acme Release');
    await apiOk(t.app, 201, 'POST', '/api/v1/trust/keys', ADMIN, {
      scope: 'acme/',
      kind: 'notation',
      name: 'acme-ca',
      pem: notary.caPem,
    });
    const clash = await api(t.app, 'POST', '/api/v1/trust/keys', ADMIN, {
      scope: 'acme/',
      kind: 'cosign',
      name: 'bob',
      pem: bob.publicPem,
    });
    assert.equal(clash.statusCode, 409);

    // The images: signed by cosign (tag), cosign (referrer), Notation; unsigned; tampered.
    const ref = (tag: string) => `registry.example/${REPO}:${tag}`;
    const byTag = await pushImage('cosign-tag');
    await pushSignature(cosignSignature([alice.privateKey], byTag, ref('cosign-tag')));
    const byReferrer = await pushImage('cosign-referrer');
    await pushSignature(
      cosignSignature([alice.privateKey], byReferrer, ref('cosign-referrer'), { referrer: true }),
    );
    const both = await pushImage('cosign-both');
    await pushSignature(
      cosignSignature([alice.privateKey, bob.privateKey], both, ref('cosign-both')),
    );
    const notation = await pushImage('notation');
    await pushSignature(await notationSignature(notary, notation));
    await pushImage('unsigned');
    const other = await pushImage('other');
    const wrongDigest = await pushImage('tampered-payload');
    await pushSignature(
      cosignSignature([alice.privateKey], wrongDigest, ref('x'), {
        payload: cosignPayload(ref('x'), other.digest),
      }),
    );
    const wrongBytes = await pushImage('tampered-signature');
    await pushSignature(
      cosignSignature([alice.privateKey], wrongBytes, ref('tampered-signature'), {
        signedPayload: Buffer.from('something else'),
      }),
    );
    const strangers = await pushImage('stranger');
    await pushSignature(cosignSignature([stranger.privateKey], strangers, ref('stranger')));
    const wrongTarget = await pushImage('notation-tampered');
    await pushSignature(
      await notationSignature(notary, wrongTarget, { targetDigest: other.digest }),
    );
    const untrusted = await pushImage('notation-untrusted');
    await pushSignature(await notationSignature(notationSigner('Someone Else'), untrusted));
  });

  it('serves cosign- and Notation-signed tags under enforce and refuses unsigned and tampered ones', async (ctx) => {
    if (!needTools(ctx, 'openssl')) return;
    await requirement({});
    for (const tag of ['cosign-tag', 'cosign-referrer', 'cosign-both', 'notation'])
      assert.equal((await pull(tag)).statusCode, 200, tag);
    const expected: Record<string, RegExp> = {
      unsigned: /acme\/app:unsigned has no signature \(notary, cosign, notation\)/,
      'tampered-payload': /cosign signature .*the payload signs sha256:[0-9a-f]{64}, not/,
      'tampered-signature': /cosign signature \(key alice\): the signature does not verify/,
      stranger: /the signature does not verify with the key/,
      'notation-tampered': /Notation signature: the payload signs sha256:/,
      'notation-untrusted':
        /Notation signature: the chain does not lead to a certificate of the trust store/,
    };
    for (const [tag, reason] of Object.entries(expected)) {
      const res = await pull(tag);
      assert.equal(res.statusCode, 403, tag);
      assert.match(res.body, reason, tag);
    }
    // A requirement naming only cosign does not count a Notation signature.
    await requirement({ kinds: ['cosign'] });
    assert.equal((await pull('notation')).statusCode, 403);
    assert.equal((await pull('cosign-tag')).statusCode, 200);
  });

  it('counts N of M named signers', async () => {
    await requirement({ signers: ['alice', 'bob'] });
    assert.equal((await pull('cosign-both')).statusCode, 200);
    const one = await pull('cosign-tag');
    assert.equal(one.statusCode, 403);
    assert.match(one.body, /acme\/app:cosign-tag is not signed by bob/);
    await requirement({ signers: ['alice', 'bob', 'acme-ca'], threshold: 2 });
    assert.equal((await pull('cosign-both')).statusCode, 200);
    const short = await pull('notation');
    assert.match(short.body, /is signed by 1 of alice, bob, acme-ca; acme\/ requires 2/);
    await requirement({ signers: ['alice', 'acme-ca'], threshold: 1 });
    assert.equal((await pull('notation')).statusCode, 200);
    assert.equal((await pull('cosign-referrer')).statusCode, 200);
    const bad = await api(t.app, 'PUT', '/api/v1/trust/policies/acme/', ADMIN, {
      signers: ['alice'],
      threshold: 2,
    });
    assert.equal(bad.statusCode, 400);
  });

  it('serves with a warning in warn mode and silently in audit mode, recording both', async () => {
    await requirement({ mode: 'warn' });
    const warned = await pull('unsigned');
    assert.equal(warned.statusCode, 200);
    assert.match(String(warned.headers.warning), /^299 - ".*acme\/app:unsigned has no signature/);
    await requirement({ mode: 'audit' });
    const audited = await pull('tampered-signature');
    assert.equal(audited.statusCode, 200);
    assert.equal(audited.headers.warning, undefined);
    await waitUntil(async () => {
      const res = await api(t.app, 'GET', '/api/v1/audit?action=signature.unverified', ADMIN);
      const entries = res.json<{ entries: { detail: { reason?: string } }[] }>().entries;
      return (
        entries.some((e) => /^warn: /.test(e.detail.reason ?? '')) &&
        entries.some((e) => /^audit: /.test(e.detail.reason ?? ''))
      );
    }, 'signature.unverified audit entries for warn and audit');
  });

  it('names the kinds of signature per tag, and forgets a removed key at once', async (ctx) => {
    if (!needTools(ctx, 'openssl')) return;
    await requirement({});
    const status = (await apiOk(t.app, 200, 'GET', `/api/v1/signatures/${REPO}`, ADMIN)).json<{
      tags: { tag: string; kinds: string[]; servable: boolean }[];
    }>();
    const byTag = new Map(status.tags.map((s) => [s.tag, s]));
    assert.deepEqual(byTag.get('cosign-tag')?.kinds, ['cosign']);
    assert.deepEqual(byTag.get('notation')?.kinds, ['notation']);
    assert.deepEqual(byTag.get('unsigned')?.kinds, []);
    assert.equal(byTag.get('unsigned')?.servable, false);
    const { tags } = (await apiOk(t.app, 200, 'GET', `/api/v1/images/${REPO}/tags`, ADMIN)).json<{
      tags: { tag: string; signatureKinds: string[] }[];
    }>();
    assert.deepEqual(tags.find((x) => x.tag === 'notation')?.signatureKinds, ['notation']);
    assert.equal((await pull('cosign-tag')).statusCode, 200);
    await apiOk(t.app, 204, 'DELETE', `/api/v1/trust/keys/${cosignKeyId}`, ADMIN);
    const after = await pull('cosign-tag');
    assert.equal(after.statusCode, 403, 'alice’s key is gone');
  });
});
