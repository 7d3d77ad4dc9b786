import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from './errors.js';
import { acceptedMediaTypes, parseManifest } from './manifest.js';

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
        subject: { mediaType: 'a', digest: D1, size: 1 },
        manifests: [{ mediaType: 'a', digest: D2, size: 1 }],
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
      bytes({ schemaVersion: 2, config: { mediaType: 'a', digest: D1, size: 1 }, layers: [] }),
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
            config: { mediaType: 'a', digest: D1, size: -1 },
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
});
