/** In-process tests of manifests, tags, referrers, listings and their error paths. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { blob, configBlob, ociIndex, ociManifest, type TestBlob } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { errorCode, pushBlob, putManifest } from '../helpers/registry-calls.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

async function image(t: TestApp, name: string, arch = 'amd64'): Promise<TestBlob> {
  const config = configBlob({ architecture: arch });
  const layer = blob(1000);
  await pushBlob(t.app, name, config);
  await pushBlob(t.app, name, layer);
  return ociManifest(config, [layer]);
}

describe('manifests, tags and referrers', () => {
  let t: TestApp;
  before(async () => (t = await testApp()));
  after(() => t.close());

  it('stores a manifest by tag and serves it byte-exact with its headers', async () => {
    const m = await image(t, 'img/a');
    const put = await putManifest(t.app, 'img/a', 'v1', m);
    assert.equal(put.statusCode, 201, put.body);
    assert.equal(put.headers['docker-content-digest'], m.digest);
    assert.equal(put.headers.location, `/v2/img/a/manifests/${m.digest}`);
    for (const ref of ['v1', m.digest]) {
      const get = await t.app.inject({
        method: 'GET',
        url: `/v2/img/a/manifests/${ref}`,
        headers: { accept: OCI_MANIFEST },
      });
      assert.equal(get.statusCode, 200);
      assert.deepEqual(get.rawPayload, m.bytes);
      assert.equal(get.headers['content-type'], OCI_MANIFEST);
      assert.equal(get.headers['content-length'], String(m.size));
      assert.equal(get.headers['docker-content-digest'], m.digest);
      assert.equal(get.headers.etag, `"${m.digest}"`);
      const head = await t.app.inject({ method: 'HEAD', url: `/v2/img/a/manifests/${ref}` });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['content-length'], String(m.size));
      assert.equal(head.body, '');
    }
  });

  it('negotiates Accept as distribution does when the client lists manifest types', async () => {
    const m = await image(t, 'img/accept');
    await putManifest(t.app, 'img/accept', 'v1', m);
    for (const accept of [
      undefined,
      '*/*',
      'application/json',
      `${DOCKER_MANIFEST}, ${OCI_MANIFEST}`,
    ]) {
      const res = await t.app.inject({
        method: 'GET',
        url: '/v2/img/accept/manifests/v1',
        headers: accept ? { accept } : {},
      });
      assert.equal(res.statusCode, 200, String(accept));
    }
    const refused = await t.app.inject({
      method: 'GET',
      url: '/v2/img/accept/manifests/v1',
      headers: { accept: DOCKER_MANIFEST },
    });
    assert.equal(refused.statusCode, 404);
    assert.equal(errorCode(refused), 'MANIFEST_UNKNOWN');
  });

  it('stores Docker schema 2 manifests and manifest lists', async () => {
    const config = configBlob();
    const layer = blob(500);
    await pushBlob(t.app, 'img/docker', config);
    await pushBlob(t.app, 'img/docker', layer);
    const m = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          digest: config.digest,
          size: config.size,
        },
        layers: [
          {
            mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
            digest: layer.digest,
            size: layer.size,
          },
        ],
      }),
    );
    assert.equal(
      (await putManifest(t.app, 'img/docker', 'v1', m, DOCKER_MANIFEST)).statusCode,
      201,
    );
    const list = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_LIST,
        manifests: [
          {
            mediaType: DOCKER_MANIFEST,
            digest: m.digest,
            size: m.size,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    assert.equal(
      (await putManifest(t.app, 'img/docker', 'multi', list, DOCKER_LIST)).statusCode,
      201,
    );
    const asList = await t.app.inject({
      method: 'GET',
      url: '/v2/img/docker/manifests/multi',
      headers: { accept: `${DOCKER_MANIFEST}, ${DOCKER_LIST}` },
    });
    assert.equal(asList.headers['content-type'], DOCKER_LIST);
    const single = await t.app.inject({
      method: 'GET',
      url: '/v2/img/docker/manifests/multi',
      headers: { accept: DOCKER_MANIFEST },
    });
    assert.equal(single.headers['content-type'], DOCKER_MANIFEST);
    assert.equal(single.headers['docker-content-digest'], m.digest);
  });

  it('stores an OCI index whose children are present, and rejects one whose children are not', async () => {
    const amd = await image(t, 'img/index', 'amd64');
    const arm = await image(t, 'img/index', 'arm64');
    await putManifest(t.app, 'img/index', amd.digest, amd);
    const missing = ociIndex([
      { manifest: amd, architecture: 'amd64' },
      { manifest: arm, architecture: 'arm64' },
    ]);
    const rejected = await putManifest(t.app, 'img/index', 'multi', missing, OCI_INDEX);
    assert.equal(rejected.statusCode, 400);
    assert.equal(errorCode(rejected), 'MANIFEST_BLOB_UNKNOWN');
    await putManifest(t.app, 'img/index', arm.digest, arm);
    const ok = await putManifest(t.app, 'img/index', 'multi', missing, OCI_INDEX);
    assert.equal(ok.statusCode, 201);
    const get = await t.app.inject({
      method: 'GET',
      url: '/v2/img/index/manifests/multi',
      headers: { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` },
    });
    assert.equal(get.headers['content-type'], OCI_INDEX);
    const single = await t.app.inject({
      method: 'GET',
      url: '/v2/img/index/manifests/multi',
      headers: { accept: OCI_MANIFEST },
    });
    assert.equal(single.headers['docker-content-digest'], amd.digest);
  });

  it('rejects manifests whose blobs are not in the repository', async () => {
    const config = configBlob();
    const layer = blob(10);
    await pushBlob(t.app, 'img/missing', config);
    const res = await putManifest(t.app, 'img/missing', 'v1', ociManifest(config, [layer]));
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
    const body = JSON.parse(res.body) as { errors: { detail: { digests: string[] } }[] };
    assert.deepEqual(body.errors[0]!.detail.digests, [layer.digest]);
    const tags = await t.app.inject({ method: 'GET', url: '/v2/img/missing/tags/list' });
    assert.deepEqual(JSON.parse(tags.body).tags, []);
  });

  it('rejects invalid, schema 1, mismatched and oversized manifests', async () => {
    const cases: [string | Buffer, string, string][] = [
      ['{not json', OCI_MANIFEST, 'MANIFEST_INVALID'],
      [
        '{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}',
        'application/vnd.docker.distribution.manifest.v1+prettyjws',
        'MANIFEST_INVALID',
      ],
      [
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }),
        OCI_MANIFEST,
        'MANIFEST_INVALID',
      ],
      [
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'x', digest: 'sha256:abc', size: 1 },
          layers: [],
        }),
        OCI_MANIFEST,
        'MANIFEST_INVALID',
      ],
      [Buffer.alloc(4 * 1024 * 1024 + 1, 32), OCI_MANIFEST, 'SIZE_INVALID'],
    ];
    for (const [payload, contentType, code] of cases) {
      const res = await t.app.inject({
        method: 'PUT',
        url: '/v2/img/bad/manifests/v1',
        headers: { 'content-type': contentType },
        payload,
      });
      assert.ok(res.statusCode === 400 || res.statusCode === 413, `${res.statusCode} ${res.body}`);
      assert.equal(errorCode(res), code);
    }
  });

  it('checks a digest reference against the content and validates tags', async () => {
    const m = await image(t, 'img/digest');
    const wrong = await putManifest(t.app, 'img/digest', blob('x').digest, m);
    assert.equal(wrong.statusCode, 400);
    assert.equal(errorCode(wrong), 'DIGEST_INVALID');
    const totallyWrong = await putManifest(t.app, 'img/digest', 'sha256:totallywrong', m);
    assert.equal(totallyWrong.statusCode, 400);
    assert.equal(errorCode(totallyWrong), 'DIGEST_INVALID');
    const badTag = await putManifest(t.app, 'img/digest', `${'t'.repeat(129)}`, m);
    assert.equal(errorCode(badTag), 'TAG_INVALID');
  });

  it('answers 404 MANIFEST_UNKNOWN to GET, HEAD and DELETE of a reference that cannot exist', async () => {
    await image(t, 'img/impossible');
    for (const reference of [
      '.INVALID_MANIFEST_NAME',
      'v1:x',
      'sha256:zz',
      encodeURIComponent('a b'),
    ])
      for (const method of ['GET', 'HEAD', 'DELETE'] as const) {
        const res = await t.app.inject({
          method,
          url: `/v2/img/impossible/manifests/${reference}`,
        });
        assert.equal(res.statusCode, 404, `${method} ${reference}: ${res.body}`);
        if (method !== 'HEAD') assert.equal(errorCode(res), 'MANIFEST_UNKNOWN');
        else assert.equal(res.body, '', 'HEAD has no body');
      }
  });

  it('applies ?tag= in the same request, naming each in OCI-Tag, and refuses a bad one whole', async () => {
    const m = await image(t, 'img/multitag');
    const res = await putManifest(t.app, 'img/multitag', `${m.digest}?tag=a&tag=b.2`, m);
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.headers['oci-tag'], ['a', 'b.2']);
    for (const tag of ['a', 'b.2']) {
      const got = await t.app.inject({ method: 'HEAD', url: `/v2/img/multitag/manifests/${tag}` });
      assert.equal(got.headers['docker-content-digest'], m.digest);
    }
    const bad = await putManifest(t.app, 'img/multitag', `${m.digest}?tag=c&tag=-bad`, m);
    assert.equal(bad.statusCode, 400);
    assert.equal(errorCode(bad), 'TAG_INVALID');
    const c = await t.app.inject({ method: 'HEAD', url: '/v2/img/multitag/manifests/c' });
    assert.equal(c.statusCode, 404, 'nothing of a refused request is applied');
  });

  it('speaks sha512 for blobs and manifests end to end', async () => {
    const sha512 = (b: TestBlob): TestBlob => ({
      ...b,
      digest: `sha512:${createHash('sha512').update(b.bytes).digest('hex')}`,
    });
    const layer = sha512(blob(3000));
    const config = sha512(configBlob({ n: 'sha512' }));
    await pushBlob(t.app, 'img/sha512', layer);
    await pushBlob(t.app, 'img/sha512', config);
    const got = await t.app.inject({ method: 'GET', url: `/v2/img/sha512/blobs/${layer.digest}` });
    assert.equal(got.statusCode, 200);
    assert.equal(got.headers['docker-content-digest'], layer.digest);
    assert.ok(got.rawPayload.equals(layer.bytes));
    const m = sha512(ociManifest(config, [layer]));
    const byDigest = await putManifest(t.app, 'img/sha512', m.digest, m);
    assert.equal(byDigest.statusCode, 201, byDigest.body);
    assert.equal(byDigest.headers['docker-content-digest'], m.digest);
    const byTag = await putManifest(t.app, 'img/sha512', 'v1?digest-algorithm=sha512', m);
    assert.equal(byTag.statusCode, 201, byTag.body);
    assert.equal(byTag.headers['docker-content-digest'], m.digest);
    const pulled = await t.app.inject({ method: 'GET', url: '/v2/img/sha512/manifests/v1' });
    assert.equal(pulled.headers['docker-content-digest'], m.digest);
    assert.ok(pulled.rawPayload.equals(m.bytes));
  });

  it('answers MANIFEST_UNKNOWN and NAME_UNKNOWN for what does not exist', async () => {
    await image(t, 'img/known');
    const m = await t.app.inject({ method: 'GET', url: '/v2/img/known/manifests/nope' });
    assert.equal(m.statusCode, 404);
    assert.equal(errorCode(m), 'MANIFEST_UNKNOWN');
    const n = await t.app.inject({ method: 'GET', url: '/v2/img/never/manifests/latest' });
    assert.equal(errorCode(n), 'NAME_UNKNOWN');
    const tags = await t.app.inject({ method: 'GET', url: '/v2/img/never/tags/list' });
    assert.equal(tags.statusCode, 404);
    assert.equal(errorCode(tags), 'NAME_UNKNOWN');
  });

  it('deletes tags and manifests', async () => {
    const m = await image(t, 'img/del');
    await putManifest(t.app, 'img/del', 'a', m);
    await putManifest(t.app, 'img/del', 'b', m);
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: '/v2/img/del/manifests/a' })).statusCode,
      202,
    );
    assert.equal(
      (await t.app.inject({ method: 'GET', url: '/v2/img/del/manifests/a' })).statusCode,
      404,
    );
    assert.equal(
      (await t.app.inject({ method: 'GET', url: '/v2/img/del/manifests/b' })).statusCode,
      200,
    );
    const again = await t.app.inject({ method: 'DELETE', url: '/v2/img/del/manifests/a' });
    assert.equal(errorCode(again), 'MANIFEST_UNKNOWN');
    assert.equal(
      (await t.app.inject({ method: 'DELETE', url: `/v2/img/del/manifests/${m.digest}` }))
        .statusCode,
      202,
    );
    assert.equal(
      (await t.app.inject({ method: 'GET', url: '/v2/img/del/manifests/b' })).statusCode,
      404,
    );
    const tags = await t.app.inject({ method: 'GET', url: '/v2/img/del/tags/list' });
    assert.deepEqual(JSON.parse(tags.body).tags, []);
  });

  it('lists tags in lexical order with n, last and a Link header', async () => {
    const m = await image(t, 'img/tags');
    const names = ['b', 'a', 'c10', 'c2', 'Z', '0'];
    for (const tag of names) await putManifest(t.app, 'img/tags', tag, m);
    const all = await t.app.inject({ method: 'GET', url: '/v2/img/tags/tags/list' });
    assert.deepEqual(JSON.parse(all.body), {
      name: 'img/tags',
      tags: ['0', 'Z', 'a', 'b', 'c10', 'c2'],
    });
    assert.equal(all.headers.link, undefined);
    const page1 = await t.app.inject({ method: 'GET', url: '/v2/img/tags/tags/list?n=4' });
    assert.deepEqual(JSON.parse(page1.body).tags, ['0', 'Z', 'a', 'b']);
    assert.equal(page1.headers.link, '</v2/img/tags/tags/list?n=4&last=b>; rel="next"');
    const page2 = await t.app.inject({ method: 'GET', url: '/v2/img/tags/tags/list?n=4&last=b' });
    assert.deepEqual(JSON.parse(page2.body).tags, ['c10', 'c2']);
    assert.equal(page2.headers.link, undefined);
    const none = await t.app.inject({ method: 'GET', url: '/v2/img/tags/tags/list?n=0' });
    assert.deepEqual(JSON.parse(none.body).tags, []);
    const bad = await t.app.inject({ method: 'GET', url: '/v2/img/tags/tags/list?n=-1' });
    assert.equal(bad.statusCode, 400);
  });

  it('lists the catalog in pages', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v2/_catalog?n=2' });
    const body = JSON.parse(res.body) as { repositories: string[] };
    assert.equal(body.repositories.length, 2);
    assert.match(res.headers.link as string, /^<\/v2\/_catalog\?n=2&last=[^>]+>; rel="next"$/);
    const next = await t.app.inject({
      method: 'GET',
      url: `/v2/_catalog?n=2&last=${encodeURIComponent(body.repositories[1]!)}`,
    });
    const rest = JSON.parse(next.body) as { repositories: string[] };
    assert.ok(rest.repositories.every((r) => r > body.repositories[1]!));
  });

  it('stores artifacts and answers referrers with OCI-Subject and artifactType filtering', async () => {
    const subject = await image(t, 'img/refs');
    const emptyConfig = blob('{}');
    await pushBlob(t.app, 'img/refs', emptyConfig);
    const sig = blob(64);
    await pushBlob(t.app, 'img/refs', sig);
    const subjectDescriptor = {
      mediaType: OCI_MANIFEST,
      digest: subject.digest,
      size: subject.size,
    };
    const artifact = ociManifest(
      emptyConfig,
      [sig],
      {
        artifactType: 'application/vnd.example.sig',
        subject: subjectDescriptor,
        annotations: { 'org.example': 'one' },
      },
      'application/vnd.oci.empty.v1+json',
    );
    const sbom = ociManifest(
      emptyConfig,
      [sig],
      { subject: subjectDescriptor },
      'application/vnd.example.sbom',
    );
    // A referrer may arrive before its subject.
    const put = await putManifest(t.app, 'img/refs', artifact.digest, artifact);
    assert.equal(put.statusCode, 201);
    assert.equal(put.headers['oci-subject'], subject.digest);
    await putManifest(t.app, 'img/refs', sbom.digest, sbom);
    await putManifest(t.app, 'img/refs', 'v1', subject);
    const all = await t.app.inject({
      method: 'GET',
      url: `/v2/img/refs/referrers/${subject.digest}`,
    });
    assert.equal(all.statusCode, 200);
    assert.equal(all.headers['content-type'], OCI_INDEX);
    const index = JSON.parse(all.body) as {
      manifests: { digest: string; artifactType: string; annotations?: Record<string, string> }[];
    };
    assert.equal(index.manifests.length, 2);
    const byDigest = new Map(index.manifests.map((d) => [d.digest, d]));
    assert.equal(byDigest.get(artifact.digest)!.artifactType, 'application/vnd.example.sig');
    assert.deepEqual(byDigest.get(artifact.digest)!.annotations, { 'org.example': 'one' });
    assert.equal(byDigest.get(sbom.digest)!.artifactType, 'application/vnd.example.sbom');
    const filtered = await t.app.inject({
      method: 'GET',
      url: `/v2/img/refs/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`,
    });
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(
      JSON.parse(filtered.body).manifests.map((d: { digest: string }) => d.digest),
      [sbom.digest],
    );
    const none = await t.app.inject({
      method: 'GET',
      url: `/v2/img/refs/referrers/${blob('nothing').digest}`,
    });
    assert.equal(none.statusCode, 200);
    assert.deepEqual(JSON.parse(none.body).manifests, []);
  });

  it('handles concurrent pushes of the same tag safely', async () => {
    const manifests = await Promise.all([1, 2, 3, 4].map(() => image(t, 'img/race')));
    const results = await Promise.all(
      manifests.map((m) => putManifest(t.app, 'img/race', 'latest', m)),
    );
    assert.ok(results.every((r) => r.statusCode === 201));
    const got = await t.app.inject({ method: 'GET', url: '/v2/img/race/manifests/latest' });
    assert.ok(manifests.some((m) => m.digest === got.headers['docker-content-digest']));
  });
});
