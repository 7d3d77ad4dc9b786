import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from './errors.js';
import { acceptedMediaTypes, manifestAcceptance, parseManifest } from './manifest.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from './media-types.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const bytes = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc));
const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as BerthError).code;
  }
};

describe('manifest parsing', () => {
  it('refuses what the image-spec schemas do not allow, naming what is wrong', () => {
    const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 2 };
    const oci = 'application/vnd.oci.image.manifest.v1+json';
    const base = { schemaVersion: 2, mediaType: oci, config, layers: [] };
    const refused = (doc: unknown, contentType = oci): string => {
      try {
        parseManifest(bytes(doc), contentType);
        return 'accepted';
      } catch (err) {
        assert.ok(err instanceof BerthError, String(err));
        assert.equal(err.code, 'MANIFEST_INVALID');
        return err.message;
      }
    };
    assert.match(refused({ ...base, mediaType: 7 }), /mediaType must be a string/);
    assert.match(
      refused(base, 'application/vnd.docker.distribution.manifest.v1+prettyjws'),
      /schema 1/,
    );
    assert.match(refused({ schemaVersion: 2, mediaType: oci, config }), /layers/);
    assert.match(refused({ ...base, annotations: { a: 1 } }), /annotations/);
    assert.match(refused({ ...base, annotations: [] }), /annotations/);
    assert.match(refused({ ...base, config: { ...config, annotations: { a: {} } } }), /config/);
    assert.match(refused({ ...base, layers: [{ ...config, size: -1 }] }), /layers\.0\.size/);
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const nested = Buffer.from(
      `{"schemaVersion":2,"mediaType":"${oci}","config":${JSON.stringify(config)},"layers":[],"annotations":{"a":${'['.repeat(10_000)}1${']'.repeat(10_000)}}}`,
    );
    assert.throws(
      () => parseManifest(nested, oci),
      (err: unknown) => {
        assert.ok(err instanceof BerthError);
        return err.code === 'MANIFEST_INVALID';
      },
    );
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json' };
    assert.match(refused({ ...index, manifests: {} }, index.mediaType), /manifests/);
    assert.match(
      refused({ ...index, manifests: [{ ...config, platform: { os: 1 } }] }, index.mediaType),
      /platform/,
    );
  });

  it('extracts config and layers, skipping foreign layers with urls', () => {
    const parsed = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 2 },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: D2, size: 3 },
          {
            mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
            digest: `sha256:${'3'.repeat(64)}`,
            size: 3,
            urls: ['https://x'],
          },
        ],
      }),
    );
    assert.deepEqual(parsed.blobs, [D1, D2]);
    assert.equal(parsed.artifactType, 'application/vnd.oci.image.config.v1+json');
  });

  it('reads index children, subject and artifactType', () => {
    const parsed = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        artifactType: 'x/y',
        subject: { mediaType: 'application/a', digest: D1, size: 1 },
        manifests: [{ mediaType: 'application/a', digest: D2, size: 1 }],
      }),
    );
    assert.deepEqual(
      parsed.children.map((c) => c.digest),
      [D2],
    );
    assert.equal(parsed.subject?.digest, D1);
    assert.equal(parsed.artifactType, 'x/y');
  });

  it('infers the OCI type when mediaType is absent and Content-Type is generic', () => {
    const parsed = parseManifest(
      bytes({
        schemaVersion: 2,
        config: { mediaType: 'application/a', digest: D1, size: 1 },
        layers: [],
      }),
      'application/json',
    );
    assert.equal(parsed.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  });

  it('refuses malformed documents with MANIFEST_INVALID', () => {
    assert.equal(
      code(() => parseManifest(Buffer.from('['))),
      'MANIFEST_INVALID',
    );
    assert.equal(
      code(() => parseManifest(bytes({ schemaVersion: 3 }))),
      'MANIFEST_INVALID',
    );
    assert.equal(
      code(() =>
        parseManifest(
          bytes({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/a', digest: D1, size: -1 },
          }),
        ),
      ),
      'MANIFEST_INVALID',
    );
    assert.equal(
      code(() =>
        parseManifest(
          bytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json' }),
        ),
      ),
      'MANIFEST_INVALID',
    );
    assert.equal(
      code(() => parseManifest(bytes({ schemaVersion: 2, mediaType: 'text/plain' }))),
      'MANIFEST_INVALID',
    );
  });

  it('refuses a mediaType that contradicts Content-Type', () => {
    const doc = bytes({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [],
    });
    assert.equal(
      code(() => parseManifest(doc, 'application/vnd.oci.image.manifest.v1+json')),
      'MANIFEST_INVALID',
    );
  });

  it('refuses manifests over 4 MiB', () => {
    assert.equal(
      code(() => parseManifest(Buffer.alloc(4 * 1024 * 1024 + 1))),
      'MANIFEST_TOO_LARGE',
    );
  });

  it('reads Accept headers, with parameters and several values', () => {
    const set = acceptedMediaTypes([
      'application/vnd.oci.image.manifest.v1+json; q=0.9, application/json',
      'Application/X',
    ]);
    assert.deepEqual(
      [...set],
      ['application/vnd.oci.image.manifest.v1+json', 'application/json', 'application/x'],
    );
    assert.equal(acceptedMediaTypes(undefined).size, 0);
  });

  it('says whether an Accept header limits the manifest types served, the same for each repeat', () => {
    const docker = `${DOCKER_MANIFEST}, ${DOCKER_MANIFEST_LIST}, ${OCI_INDEX}`;
    const first = manifestAcceptance(docker);
    assert.equal(first.choosy, true);
    assert.deepEqual([...first.types], [DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX]);
    assert.equal(manifestAcceptance(docker), first, 'a repeated header is not read again');
    assert.deepEqual(
      manifestAcceptance([DOCKER_MANIFEST, OCI_INDEX]).types,
      new Set([DOCKER_MANIFEST, OCI_INDEX]),
    );
    assert.equal(manifestAcceptance(`${OCI_MANIFEST}, */*`).choosy, false);
    assert.equal(manifestAcceptance('application/json').choosy, false);
    assert.equal(manifestAcceptance(undefined).choosy, false);
    const long = `${OCI_MANIFEST}, ${'application/x-padding, '.repeat(100)}`;
    assert.equal(manifestAcceptance(long).choosy, true);
    assert.notEqual(
      manifestAcceptance(long),
      manifestAcceptance(long),
      'a long header is not kept',
    );
  });
});
