/**
 * The trust service's publish validation, over HTTP as notary clients speak it: valid publishes
 * (root, targets, delegations, client- or server-held snapshots) and every attack notary-server
 * refuses — bad or missing signatures, below-threshold and wrongly signed roots, version
 * rollbacks, snapshots that do not match, expired roles, replayed timestamps; server keys,
 * lazy re-signing and keys encrypted at rest.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canonicalize } from '@tufjs/canonical-json';
import { loadMasterKey } from '../../src/kit/index.js';
import { KeyVault, TrustService } from '../../src/trust/index.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import {
  ecdsaKey,
  fileMeta,
  inDays,
  publishBody,
  rootKey,
  rootSigned,
  serverKey,
  signFile,
  targetsSigned,
  type TestKey,
} from '../helpers/tuf-builder.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
let t: TestApp;
let counter = 0;

function tuf(gun: string, file: string): string {
  return `/v2/${gun}/_trust/tuf/${file}`;
}

async function get(gun: string, file: string) {
  return t.app.inject({ method: 'GET', url: tuf(gun, file) });
}

async function publish(gun: string, parts: Record<string, Buffer>) {
  const { body, contentType } = publishBody(parts);
  return t.app.inject({
    method: 'POST',
    url: tuf(gun, ''),
    headers: { 'content-type': contentType },
    payload: body,
  });
}

function assertRefused(
  res: Awaited<ReturnType<typeof publish>>,
  code: string,
  name?: string,
  message?: RegExp,
) {
  assert.equal(res.statusCode, 400, res.body);
  const error = (
    res.json() as { errors: { code: string; detail: { Name?: string; Error?: { Msg: string } } }[] }
  ).errors[0]!;
  assert.equal(error.code, code, res.body);
  if (name) assert.equal(error.detail.Name, name, res.body);
  if (message) assert.match(error.detail.Error?.Msg ?? '', message);
}

/** A repository as a notary client holds it: its keys and the versions it published. */
interface Repo {
  gun: string;
  root: TestKey;
  targets: TestKey;
  timestamp: { key: TestKey['key']; id: string };
  snapshot: { key: TestKey['key']; id: string };
  clientSnapshot?: TestKey;
}

async function initRepo(options: { clientSnapshot?: boolean } = {}): Promise<Repo> {
  counter += 1;
  const gun = `127.0.0.1:5000/trust/repo${counter}`;
  const root = await rootKey(gun);
  const targets = ecdsaKey();
  const timestamp = serverKey((await get(gun, 'timestamp.key')).body);
  const clientSnapshot = options.clientSnapshot ? ecdsaKey() : undefined;
  const snapshot = clientSnapshot ?? serverKey((await get(gun, 'snapshot.key')).body);
  const repo: Repo = { gun, root, targets, timestamp, snapshot, clientSnapshot };
  const rootFile = signFile(
    rootSigned({ version: 1, root: [root], targets, snapshot, timestamp }),
    [root],
  );
  const targetsFile = signFile(
    targetsSigned({ version: 2, targets: { v1: { digest: DIGEST, length: 10 } } }),
    [targets],
  );
  const parts: Record<string, Buffer> = { root: rootFile, targets: targetsFile };
  if (clientSnapshot)
    parts.snapshot = signFile(
      {
        _type: 'Snapshot',
        expires: inDays(1095),
        meta: { root: fileMeta(rootFile), targets: fileMeta(targetsFile) },
        version: 1,
      },
      [clientSnapshot],
    );
  const res = await publish(gun, parts);
  assert.equal(res.statusCode, 200, res.body);
  return repo;
}

before(async () => {
  t = await testApp({ auth: { mode: 'none' }, domain: '127.0.0.1:5000' });
});
after(async () => t.close());

describe('publishing trust data', () => {
  it('stores root and targets byte for byte and signs a snapshot and timestamp over them', async () => {
    const repo = await initRepo();
    const root = await get(repo.gun, 'root.json');
    assert.equal(root.statusCode, 200);
    assert.match(String(root.headers['cache-control']), /max-age=300/);
    const sha = createHash('sha256').update(root.rawPayload).digest('hex');
    assert.deepEqual((await get(repo.gun, `root.${sha}.json`)).rawPayload, root.rawPayload);
    assert.deepEqual((await get(repo.gun, '1.root.json')).rawPayload, root.rawPayload);
    const timestamp = JSON.parse((await get(repo.gun, 'timestamp.json')).body) as {
      signed: {
        version: number;
        meta: { snapshot: { hashes: { sha256: string }; length: number } };
      };
      signatures: { keyid: string; method: string; sig: string }[];
    };
    assert.equal(timestamp.signed.version, 1);
    assert.equal(timestamp.signatures[0]!.keyid, repo.timestamp.id);
    const publicKey = createPublicKey({
      key: Buffer.from(repo.timestamp.key.keyval.public, 'base64'),
      format: 'der',
      type: 'spki',
    });
    const signedBytes = Buffer.from(canonicalize(timestamp.signed));
    assert.ok(
      verify(
        'sha256',
        signedBytes,
        { key: publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(timestamp.signatures[0]!.sig, 'base64'),
      ),
    );
    const snapshot = await get(repo.gun, 'snapshot.json');
    assert.deepEqual(timestamp.signed.meta.snapshot, {
      ...fileMeta(snapshot.rawPayload),
      hashes: {
        ...fileMeta(snapshot.rawPayload).hashes,
        sha512: createHash('sha512').update(snapshot.rawPayload).digest('base64'),
      },
    });
    const snapshotMeta = (
      JSON.parse(snapshot.body) as { signed: { meta: Record<string, unknown> } }
    ).signed.meta;
    assert.deepEqual(Object.keys(snapshotMeta).sort(), ['root', 'targets']);
  });

  it('refuses a publish with no root anywhere, and one signed by the wrong key', async () => {
    const gun = '127.0.0.1:5000/trust/none';
    const targets = signFile(targetsSigned({ version: 1 }), [ecdsaKey()]);
    assertRefused(
      await publish(gun, { targets }),
      'INVALID_UPDATE',
      'ErrValidation',
      /no pre-existing root/,
    );
    const repo = await initRepo();
    const forged = signFile(targetsSigned({ version: 3 }), [ecdsaKey()]);
    assertRefused(
      await publish(repo.gun, { targets: forged }),
      'INVALID_UPDATE',
      'ErrBadTargets',
      /valid signature/,
    );
  });

  it('refuses bytes altered after signing', async () => {
    const repo = await initRepo();
    const good = JSON.parse(
      signFile(targetsSigned({ version: 3, targets: { v1: { digest: DIGEST, length: 10 } } }), [
        repo.targets,
      ]).toString(),
    ) as { signed: { targets: Record<string, { length: number }> } };
    good.signed.targets.v1!.length = 11;
    assertRefused(
      await publish(repo.gun, { targets: Buffer.from(JSON.stringify(good)) }),
      'INVALID_UPDATE',
      'ErrBadTargets',
    );
  });

  it('refuses version rollbacks and replays of the stored version', async () => {
    const repo = await initRepo();
    const replay = (await get(repo.gun, 'targets.json')).rawPayload;
    assertRefused(await publish(repo.gun, { targets: replay }), 'VERSION');
    const older = signFile(targetsSigned({ version: 1 }), [repo.targets]);
    assertRefused(await publish(repo.gun, { targets: older }), 'VERSION');
    const newer = signFile(targetsSigned({ version: 5 }), [repo.targets]);
    assert.equal(
      (await publish(repo.gun, { targets: newer })).statusCode,
      200,
      'versions may skip',
    );
  });

  it('refuses expired roles and roots whose certificate is for another GUN, expired or signed with SHA-1', async () => {
    const repo = await initRepo();
    const expired = signFile(targetsSigned({ version: 3, expires: inDays(-1) }), [repo.targets]);
    assertRefused(
      await publish(repo.gun, { targets: expired }),
      'INVALID_UPDATE',
      'ErrBadTargets',
      /expired/,
    );

    counter += 1;
    const gun = `127.0.0.1:5000/trust/cn${counter}`;
    const timestamp = serverKey((await get(gun, 'timestamp.key')).body);
    const snapshot = serverKey((await get(gun, 'snapshot.key')).body);
    const targets = ecdsaKey();
    const targetsFile = signFile(targetsSigned({ version: 1 }), [targets]);
    for (const [key, why] of [
      [await rootKey('127.0.0.1:5000/someone/else'), /not 127\.0\.0\.1:5000\/trust\/cn/],
      [
        await rootKey(gun, {
          from: new Date(Date.now() - 10 * 86_400_000),
          to: new Date(Date.now() - 86_400_000),
        }),
        /expired/,
      ],
      [await rootKey(gun, {}, 'SHA-1'), /SHA-1/],
    ] as const) {
      const rootFile = signFile(
        rootSigned({ version: 1, root: [key], targets, snapshot, timestamp }),
        [key],
      );
      assertRefused(
        await publish(gun, { root: rootFile, targets: targetsFile }),
        'INVALID_UPDATE',
        'ErrBadRoot',
        why,
      );
    }
    const plainKeyRoot = ecdsaKey();
    const rootFile = signFile(
      rootSigned({ version: 1, root: [plainKeyRoot], targets, snapshot, timestamp }),
      [plainKeyRoot],
    );
    assertRefused(
      await publish(gun, { root: rootFile, targets: targetsFile }),
      'INVALID_UPDATE',
      'ErrBadRoot',
      /X\.509/,
    );
  });

  it('rotates roots only when the old and the new root keys sign, meeting both thresholds', async () => {
    const repo = await initRepo();
    const next = await rootKey(repo.gun);
    const third = await rootKey(repo.gun);
    const signed = (threshold: number, keys: TestKey[]) =>
      rootSigned({
        version: 2,
        root: keys,
        targets: repo.targets,
        snapshot: repo.snapshot,
        timestamp: repo.timestamp,
        threshold,
      });
    assertRefused(
      await publish(repo.gun, { root: signFile(signed(1, [next]), [next]) }),
      'INVALID_UPDATE',
      'ErrBadRoot',
      /previous root keys/,
    );
    assertRefused(
      await publish(repo.gun, { root: signFile(signed(2, [next, third]), [repo.root, next]) }),
      'INVALID_UPDATE',
      'ErrBadRoot',
      /threshold is 2/,
    );
    const skip = rootSigned({
      version: 3,
      root: [next],
      targets: repo.targets,
      snapshot: repo.snapshot,
      timestamp: repo.timestamp,
    });
    assertRefused(
      await publish(repo.gun, { root: signFile(skip, [repo.root, next]) }),
      'INVALID_UPDATE',
      'ErrBadRoot',
      /skips/,
    );
    const ok = await publish(repo.gun, {
      root: signFile(signed(2, [next, third]), [repo.root, next, third]),
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await get(repo.gun, '2.root.json')).statusCode, 200);
    assert.equal((await get(repo.gun, '1.root.json')).statusCode, 200, 'history is kept');
  });

  it('checks delegations against the keys and threshold their parent declares', async () => {
    const repo = await initRepo();
    const alice = ecdsaKey();
    const undeclared = signFile(targetsSigned({ version: 1 }), [alice]);
    assertRefused(
      await publish(repo.gun, { 'targets/releases': undeclared }),
      'INVALID_UPDATE',
      'ErrBadTargets',
      /does not delegate/,
    );
    const parent = signFile(
      targetsSigned({ version: 3, delegations: [{ name: 'targets/releases', keys: [alice] }] }),
      [repo.targets],
    );
    const wrongKey = signFile(targetsSigned({ version: 1 }), [ecdsaKey()]);
    assertRefused(
      await publish(repo.gun, { targets: parent, 'targets/releases': wrongKey }),
      'INVALID_UPDATE',
      'ErrBadTargets',
    );
    const releases = signFile(
      targetsSigned({ version: 1, targets: { v2: { digest: DIGEST, length: 10 } } }),
      [alice],
    );
    const ok = await publish(repo.gun, { targets: parent, 'targets/releases': releases });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual((await get(repo.gun, 'targets/releases.json')).rawPayload, releases);
    const snapshot = JSON.parse((await get(repo.gun, 'snapshot.json')).body) as {
      signed: { meta: object };
    };
    assert.deepEqual(Object.keys(snapshot.signed.meta).sort(), [
      'root',
      'targets',
      'targets/releases',
    ]);
  });

  it('keeps delegations within their paths, and declarations within their parent', async () => {
    const repo = await initRepo();
    const rsa = ecdsaKey();
    const parent = signFile(
      targetsSigned({
        version: 3,
        delegations: [{ name: 'targets/rsa', keys: [rsa], paths: ['rsa/'] }],
      }),
      [repo.targets],
    );
    const outside = signFile(
      targetsSigned({ version: 1, targets: { 'notrsa/v4': { digest: DIGEST, length: 1 } } }),
      [rsa],
    );
    assertRefused(
      await publish(repo.gun, { targets: parent, 'targets/rsa': outside }),
      'INVALID_UPDATE',
      'ErrBadTargets',
      /outside its paths/,
    );
    const nestedWider = signFile(
      targetsSigned({
        version: 1,
        delegations: [{ name: 'targets/rsa/all', keys: [rsa], paths: [''] }],
      }),
      [rsa],
    );
    assertRefused(
      await publish(repo.gun, { targets: parent, 'targets/rsa': nestedWider }),
      'INVALID_UPDATE',
      'ErrBadTargets',
      /outside the paths of targets\/rsa/,
    );
    const foreign = signFile(
      targetsSigned({ version: 3, delegations: [{ name: 'targets/a/b', keys: [rsa] }] }),
      [repo.targets],
    );
    assertRefused(
      await publish(repo.gun, { targets: foreign }),
      'INVALID_UPDATE',
      'ErrBadTargets',
      /not a delegation of it/,
    );
    const inside = signFile(
      targetsSigned({ version: 1, targets: { 'rsa/v3': { digest: DIGEST, length: 1 } } }),
      [rsa],
    );
    assert.equal(
      (await publish(repo.gun, { targets: parent, 'targets/rsa': inside })).statusCode,
      200,
    );
  });

  it('checks a client-signed snapshot: its key and every hash over the exact bytes', async () => {
    const repo = await initRepo({ clientSnapshot: true });
    const rootBytes = (await get(repo.gun, 'root.json')).rawPayload;
    const targets = signFile(targetsSigned({ version: 3 }), [repo.targets]);
    const other = signFile(targetsSigned({ version: 4 }), [repo.targets]);
    const snapshotOver = (bytes: Buffer, key: TestKey, version = 2) =>
      signFile(
        {
          _type: 'Snapshot',
          expires: inDays(1095),
          meta: { root: fileMeta(rootBytes), targets: fileMeta(bytes) },
          version,
        },
        [key],
      );
    assertRefused(
      await publish(repo.gun, { targets, snapshot: snapshotOver(other, repo.clientSnapshot!) }),
      'INVALID_UPDATE',
      'ErrBadSnapshot',
      /does not match|wrong length/,
    );
    assertRefused(
      await publish(repo.gun, { targets, snapshot: snapshotOver(targets, ecdsaKey()) }),
      'INVALID_UPDATE',
      'ErrBadSnapshot',
    );
    assertRefused(
      await publish(repo.gun, { targets }),
      'INVALID_UPDATE',
      'ErrBadHierarchy',
      /does not hold current snapshot key/,
    );
    const ok = await publish(repo.gun, {
      targets,
      snapshot: snapshotOver(targets, repo.clientSnapshot!),
    });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('never serves a replayed timestamp: uploaded timestamps are ignored, the server signs the next', async () => {
    const repo = await initRepo();
    const old = (await get(repo.gun, 'timestamp.json')).rawPayload;
    assertRefused(await publish(repo.gun, { timestamp: old }), 'MALFORMED_UPLOAD');
    const targets = signFile(targetsSigned({ version: 3 }), [repo.targets]);
    assert.equal((await publish(repo.gun, { targets, timestamp: old })).statusCode, 200);
    const current = await get(repo.gun, 'timestamp.json');
    assert.notDeepEqual(current.rawPayload, old);
    assert.equal((JSON.parse(current.body) as { signed: { version: number } }).signed.version, 2);
  });

  it('makes a new server key per request before a root exists, then keeps the one root lists', async () => {
    counter += 1;
    const gun = `127.0.0.1:5000/trust/keys${counter}`;
    const a = (await get(gun, 'timestamp.key')).body;
    const b = (await get(gun, 'timestamp.key')).body;
    assert.notEqual(a, b);
    const repo = await initRepo();
    const listed = JSON.stringify(repo.timestamp.key.keyval.public);
    assert.ok((await get(repo.gun, 'timestamp.key')).body.includes(listed.slice(1, -1)));
    const rotated = await t.app.inject({ method: 'POST', url: tuf(repo.gun, 'timestamp.key') });
    assert.equal(rotated.statusCode, 200);
    assert.ok(!rotated.body.includes(listed.slice(1, -1)), 'a rotation makes a new pending key');
  });

  it('re-signs the timestamp (and a server-held snapshot) before they expire', async () => {
    const repo = await initRepo();
    const vault = new KeyVault(loadMasterKey(path.join(t.data, 'trust', 'master.key')));
    let now = Date.now();
    const trust = new TrustService(t.berth.meta, vault, 0, () => now);
    const first = await trust.current(repo.gun, 'timestamp');
    assert.equal(first?.version, 1);
    now += 10 * 86_400_000;
    const later = await trust.current(repo.gun, 'timestamp');
    assert.equal(later?.version, 2);
    assert.ok(later!.expiresAt > now + 13 * 86_400_000);
    now += 3 * 365 * 86_400_000 - 5 * 86_400_000;
    const snapshot = await trust.current(repo.gun, 'snapshot');
    assert.equal(snapshot?.version, 2, 'the server-held snapshot was re-signed');
  });

  it('keeps server keys encrypted at rest, bound to their GUN and role', async () => {
    const repo = await initRepo();
    const [key] = await t.berth.meta.trust.keys(repo.gun, 'timestamp');
    assert.ok(key);
    assert.match(key.privateKey, /^v1\./);
    const master = loadMasterKey(path.join(t.data, 'trust', 'master.key'));
    const label = `${repo.gun}\ntimestamp\n${key.keyId}`;
    assert.ok(new KeyVault(master).open(key.privateKey, label));
    assert.throws(() => new KeyVault(randomBytes(32)).open(key.privateKey, label));
    assert.throws(() =>
      new KeyVault(master).open(key.privateKey, `${repo.gun}\nsnapshot\n${key.keyId}`),
    );
  });

  it('deletes a GUN and records the change', async () => {
    const repo = await initRepo();
    const res = await t.app.inject({ method: 'DELETE', url: tuf(repo.gun, '') });
    assert.equal(res.statusCode, 200);
    assert.equal((await get(repo.gun, 'root.json')).statusCode, 404);
    const feed = await t.app.inject({
      method: 'GET',
      url: `/v2/${repo.gun}/_trust/changefeed?change_id=-1&records=1`,
    });
    const records = (feed.json() as { records: { Category: string }[] }).records;
    assert.equal(records[0]?.Category, 'deletion');
  });

  it('answers malformed requests with notary error codes', async () => {
    const repo = await initRepo();
    const notMultipart = await t.app.inject({
      method: 'POST',
      url: tuf(repo.gun, ''),
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
    });
    assertRefused(notMultipart, 'MALFORMED_UPLOAD');
    assertRefused(await publish(repo.gun, { bogus: Buffer.from('{}') }), 'INVALID_ROLE');
    assertRefused(await publish(repo.gun, { targets: Buffer.from('not json') }), 'MALFORMED_JSON');
    const missing = await get(repo.gun, 'nosuchrole.json');
    assert.equal(missing.statusCode, 404);
    assert.equal(
      (missing.json() as { errors: { code: string }[] }).errors[0]!.code,
      'METADATA_NOT_FOUND',
    );
    const head = await t.app.inject({ method: 'HEAD', url: tuf(repo.gun, 'root.json') });
    assert.equal(head.statusCode, 404);
    const feed = await t.app.inject({ method: 'GET', url: '/v2/_trust/changefeed?records=x' });
    assert.equal(feed.statusCode, 400);
    assert.equal(
      (feed.json() as { errors: { code: string }[] }).errors[0]!.code,
      'INVALID_PARAMETERS',
    );
  });
});
