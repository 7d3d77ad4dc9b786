/** podman (daemonless) push and pull against a spawned Berth, with its own storage. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { umociBusyboxLayout } from '../helpers/oci-layout.js';
import { podmanFlags } from '../helpers/podman.js';
import { removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools, run } from '../helpers/tools.js';

const TOOLS = ['podman', 'skopeo', 'umoci'];

describe('podman against Berth', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let store: string;
  const podman = (...args: string[]): string => run('podman', [...podmanFlags(store), ...args]);

  before(async () => {
    berth = await spawnBerth();
    store = tempDir('podman');
  });
  after(async () => {
    await berth?.stop();
    if (berth) removeDir(berth.data);
    if (store) {
      try {
        podman('system', 'reset', '--force');
      } catch {
        // best effort: the folder goes anyway
      }
      removeDir(store);
    }
  });

  it('pulls an image, pushes it to another repository and pulls that back by digest', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const layout = umociBusyboxLayout('v1', 'podman was here\n');
    run('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${berth.host}/podman/src:v1`,
    ]);
    podman('pull', '--tls-verify=false', `${berth.host}/podman/src:v1`);
    podman('tag', `${berth.host}/podman/src:v1`, `${berth.host}/podman/dst:v2`);
    const digestFile = path.join(store, 'digest');
    podman('push', '--tls-verify=false', '--digestfile', digestFile, `${berth.host}/podman/dst:v2`);
    const digest = run('cat', [digestFile]).trim();
    assert.match(digest, /^sha256:[a-f0-9]{64}$/);
    podman('rmi', '--all', '--force');
    podman('pull', '--tls-verify=false', `${berth.host}/podman/dst@${digest}`);
    const images = podman('images', '--format', '{{.Digest}}');
    assert.match(images, new RegExp(digest));
  });
});
