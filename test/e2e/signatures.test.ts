/**
 * cosign and Notation signatures with docker and Chromium: images pushed by docker are signed in
 * the formats cosign and Notation write (made with Node's crypto, jose and openssl, as neither
 * tool is packaged here) and pushed over HTTP; once acme/ requires signed tags (enforce), docker
 * pulls the cosign- and Notation-signed tags, and is refused the unsigned one and one whose cosign
 * payload names another image; in warn mode the unsigned tag pulls; the repository page in
 * Chromium shows which kind of signature each tag has.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signedInPage } from '../helpers/browser.js';
import type { TestBlob } from '../helpers/content.js';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { removeDir, spawnBerth, type SpawnedBerth } from '../helpers/server.js';
import {
  cosignKeyPair,
  cosignPayload,
  cosignSignature,
  notationSignature,
  notationSigner,
  type SignatureArtifact,
} from '../helpers/signatures.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';

const TOOLS = ['dockerd', 'docker', 'busybox', 'openssl', 'chromium'];
const ADMIN_PASSWORD = 'signatures-admin-password';
const AUTH = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

describe('cosign and Notation signatures', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let engine: PrivateDockerd;
  const cosign = cosignKeyPair();
  const subjects = new Map<string, { digest: string; size: number }>();
  const call = (method: string, path: string, body?: unknown, type = 'application/json') =>
    fetch(`${berth.url}${path}`, {
      method,
      headers: { authorization: AUTH, ...(body ? { 'content-type': type } : {}) },
      body:
        body === undefined
          ? undefined
          : Buffer.isBuffer(body)
            ? Uint8Array.from(body)
            : JSON.stringify(body),
    });
  const pushBlob = async (b: TestBlob) =>
    assert.equal(
      (
        await call(
          'POST',
          `/v2/acme/app/blobs/uploads/?digest=${b.digest}`,
          b.bytes,
          'application/octet-stream',
        )
      ).status,
      201,
    );
  const pushSignature = async (sig: SignatureArtifact) => {
    for (const b of sig.blobs) await pushBlob(b);
    const res = await call(
      'PUT',
      `/v2/acme/app/manifests/${sig.reference}`,
      sig.manifest.bytes,
      'application/vnd.oci.image.manifest.v1+json',
    );
    assert.equal(res.status, 201, await res.text());
  };
  const requireSigned = async (mode: string) =>
    assert.equal((await call('PUT', '/api/v1/trust/policies/acme/', { mode })).status, 200);

  before(async () => {
    if (skipUnlessTools(TOOLS)) return;
    berth = await spawnBerth({ auth: 'token', adminPassword: ADMIN_PASSWORD });
    engine = await startDockerd();
    engine.docker(['build', '-q', '-t', 'local/base:1', busyboxContext()]);
    engine.docker(['login', '-u', 'admin', '--password-stdin', berth.host], {
      input: ADMIN_PASSWORD,
    });
    for (const tag of ['cosigned', 'notarised', 'unsigned', 'tampered']) {
      const ref = `${berth.host}/acme/app:${tag}`;
      engine.docker([
        'build',
        '-q',
        '-t',
        ref,
        derivedContext('local/base:1', [`RUN echo ${tag} > /tag`]),
      ]);
      engine.docker(['push', ref]);
      const head = await fetch(`${berth.url}/v2/acme/app/manifests/${tag}`, {
        method: 'HEAD',
        headers: { authorization: AUTH, accept: DOCKER_MANIFEST },
      });
      subjects.set(tag, {
        digest: head.headers.get('docker-content-digest')!,
        size: Number(head.headers.get('content-length')),
      });
    }
    const notary = notationSigner('Acme Releases');
    for (const [kind, name, pem] of [
      ['cosign', 'release', cosign.publicPem],
      ['notation', 'acme-ca', notary.caPem],
    ])
      assert.equal(
        (await call('POST', '/api/v1/trust/keys', { scope: 'acme/', kind, name, pem })).status,
        201,
      );
    const ref = (tag: string) => `${berth.host}/acme/app:${tag}`;
    await pushSignature(
      cosignSignature([cosign.privateKey], subjects.get('cosigned')!, ref('cosigned')),
    );
    await pushSignature(await notationSignature(notary, subjects.get('notarised')!));
    await pushSignature(
      cosignSignature([cosign.privateKey], subjects.get('tampered')!, ref('tampered'), {
        payload: cosignPayload(ref('cosigned'), subjects.get('cosigned')!.digest),
      }),
    );
    for (const tag of subjects.keys()) engine.attempt(['rmi', `${berth.host}/acme/app:${tag}`]);
  });
  after(async () => {
    await engine?.stop();
    if (berth) {
      await berth.stop();
      removeDir(berth.data);
    }
  });

  it('lets docker pull cosign- and Notation-signed tags under enforce, and refuses the others', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await requireSigned('enforce');
    for (const tag of ['cosigned', 'notarised']) {
      const pulled = engine.attempt(['pull', `${berth.host}/acme/app:${tag}`]);
      assert.equal(pulled.status, 0, `${tag}: ${pulled.output}`);
    }
    const unsigned = engine.attempt(['pull', `${berth.host}/acme/app:unsigned`]);
    assert.notEqual(unsigned.status, 0);
    assert.match(unsigned.output, /acme\/app:unsigned has no signature/);
    const tampered = engine.attempt(['pull', `${berth.host}/acme/app:tampered`]);
    assert.notEqual(tampered.status, 0);
    assert.match(tampered.output, /the payload signs sha256:[0-9a-f]{64}, not/);
  });

  it('lets docker pull the unsigned tag in warn mode', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await requireSigned('warn');
    const pulled = engine.attempt(['pull', `${berth.host}/acme/app:unsigned`]);
    assert.equal(pulled.status, 0, pulled.output);
  });

  it('shows the kind of signature of each tag on the repository page, in Chromium', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const { page, close } = await signedInPage(berth.url, 'admin', ADMIN_PASSWORD);
    try {
      await page.goto(`${berth.url}/r/acme/app`);
      const row = (tag: string) => page.getByRole('row', { name: new RegExp(`^${tag}\\b`) });
      await row('cosigned').getByText('cosign', { exact: true }).waitFor();
      await row('notarised').getByText('notation', { exact: true }).waitFor();
      assert.match(await row('unsigned').innerText(), /\bno\b/);
    } finally {
      await close();
    }
  });
});
