/** skopeo against a spawned Berth: copy in and out, inspect, list-tags, delete, copy --all. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { multiPlatformLayout, umociBusyboxLayout } from '../helpers/oci-layout.js';
import { blobFile, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools, run } from '../helpers/tools.js';

const TOOLS = ['skopeo', 'umoci'];
const NO_TLS = ['--src-tls-verify=false', '--dest-tls-verify=false'];

describe('skopeo against Berth', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  before(async () => (berth = await spawnBerth()));
  after(async () => {
    await berth?.stop();
    if (berth) removeDir(berth.data);
  });

  it('copies an umoci-built OCI layout in, inspects, lists tags and copies it out', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const layout = umociBusyboxLayout('v1', 'built by umoci\n');
    run('skopeo', ['copy', ...NO_TLS, `oci:${layout}:v1`, `docker://${berth.host}/skopeo/bb:v1`]);
    run('skopeo', ['copy', ...NO_TLS, `oci:${layout}:v1`, `docker://${berth.host}/skopeo/bb:v2`]);
    const inspect = JSON.parse(
      run('skopeo', ['inspect', '--tls-verify=false', `docker://${berth.host}/skopeo/bb:v1`]),
    ) as { Digest: string; Layers: string[]; Architecture: string };
    assert.equal(inspect.Layers.length, 1);
    // skopeo sends each blob as a PATCH and an empty PUT: the small config went to the database's
    // small-blob table (the upload's row held it until the PUT), the layer to a file.
    const config = (
      JSON.parse(
        run('skopeo', [
          'inspect',
          '--raw',
          '--tls-verify=false',
          `docker://${berth.host}/skopeo/bb:v1`,
        ]),
      ) as { config: { digest: string } }
    ).config.digest;
    assert.ok(!existsSync(blobFile(berth.data, config)), 'the small config has no file');
    assert.ok(existsSync(blobFile(berth.data, inspect.Layers[0]!)), 'the layer has its file');
    assert.equal(inspect.Architecture, 'amd64');
    const raw = run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${berth.host}/skopeo/bb:v1`,
    ]);
    const tags = JSON.parse(
      run('skopeo', ['list-tags', '--tls-verify=false', `docker://${berth.host}/skopeo/bb`]),
    ) as { Tags: string[] };
    assert.deepEqual(tags.Tags, ['v1', 'v2']);
    const out = tempDir('out');
    run('skopeo', ['copy', ...NO_TLS, `docker://${berth.host}/skopeo/bb:v1`, `oci:${out}:copied`]);
    const again = run('skopeo', ['inspect', '--raw', `oci:${out}:copied`]);
    assert.equal(again, raw, 'the manifest comes back byte for byte');
  });

  it('pulls a layer again and again: read around the page cache, through it, then zero-copy', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const zeroCopied = async (): Promise<number> => {
      const text = await (await fetch(`${berth.url}/metrics`)).text();
      return Number(/^berth_blob_bytes_sent_zero_copy_total (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    const layout = umociBusyboxLayout('zc', 'pulled three times\n');
    run('skopeo', ['copy', ...NO_TLS, `oci:${layout}:zc`, `docker://${berth.host}/skopeo/zc:v1`]);
    const before = await zeroCopied();
    assert.ok(Number.isFinite(before), 'the metric is reported');
    const raw = run('skopeo', ['inspect', '--raw', `oci:${layout}:zc`]);
    // The layer was written around the cache: the first pull reads it around it too, the
    // second through it (filling it), the third sends it from the cache with sendfile(2).
    // skopeo checks every blob's digest as it pulls.
    for (let i = 0; i < 3; i += 1) {
      const out = tempDir(`zc${i}`);
      run('skopeo', ['copy', ...NO_TLS, `docker://${berth.host}/skopeo/zc:v1`, `oci:${out}:zc`]);
      assert.equal(run('skopeo', ['inspect', '--raw', `oci:${out}:zc`]), raw);
      removeDir(out);
    }
    assert.ok((await zeroCopied()) > before, 'some of the layer went out zero-copy');
  });

  it('deletes an image: the manifest goes, with every tag pointing at it', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    run('skopeo', [
      'copy',
      ...NO_TLS,
      `docker://${berth.host}/skopeo/bb:v1`,
      `docker://${berth.host}/skopeo/doomed:v1`,
    ]);
    run('skopeo', ['delete', '--tls-verify=false', `docker://${berth.host}/skopeo/doomed:v1`]);
    assert.throws(
      () =>
        run('skopeo', ['inspect', '--tls-verify=false', `docker://${berth.host}/skopeo/doomed:v1`]),
      /manifest unknown|not found/i,
    );
    assert.ok(
      run('skopeo', [
        'inspect',
        '--tls-verify=false',
        `docker://${berth.host}/skopeo/bb:v2`,
      ]).includes('Digest'),
    );
  });

  it('copies a multi-platform index whole with --all, and one platform without it', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const { dir, index, images } = multiPlatformLayout('multi', ['amd64', 'arm64']);
    run('skopeo', [
      'copy',
      '--all',
      ...NO_TLS,
      `oci:${dir}:multi`,
      `docker://${berth.host}/skopeo/multi:v1`,
    ]);
    const raw = run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${berth.host}/skopeo/multi:v1`,
    ]);
    assert.equal(raw, index.bytes.toString());
    for (const image of images) {
      const res = await fetch(`${berth.url}/v2/skopeo/multi/manifests/${image.digest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(res.status, 200);
    }
    const out = tempDir('multi-out');
    run('skopeo', [
      'copy',
      '--all',
      ...NO_TLS,
      `docker://${berth.host}/skopeo/multi:v1`,
      `oci:${out}:back`,
    ]);
    assert.equal(run('skopeo', ['inspect', '--raw', `oci:${out}:back`]), raw);
    const arm = JSON.parse(
      run('skopeo', [
        'inspect',
        '--override-arch',
        'arm64',
        '--tls-verify=false',
        `docker://${berth.host}/skopeo/multi:v1`,
      ]),
    ) as { Architecture: string };
    assert.equal(arm.Architecture, 'arm64');
  });

  it('copies between repositories of the same registry', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    run('skopeo', [
      'copy',
      '--all',
      ...NO_TLS,
      `docker://${berth.host}/skopeo/multi:v1`,
      `docker://${berth.host}/other/multi:v1`,
    ]);
    const a = run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${berth.host}/skopeo/multi:v1`,
    ]);
    const b = run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${berth.host}/other/multi:v1`,
    ]);
    assert.equal(a, b);
  });
});
