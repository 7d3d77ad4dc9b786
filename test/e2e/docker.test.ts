/** The real docker CLI and a dockerd started here, against a spawned Berth. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { blobFile, removeDir, spawnBerth, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';

const TOOLS = ['dockerd', 'docker', 'busybox'];

describe('docker CLI against Berth', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let engine: PrivateDockerd;

  before(async () => {
    berth = await spawnBerth();
    engine = await startDockerd();
  });
  after(async () => {
    await engine?.stop();
    await berth?.stop();
    if (berth) removeDir(berth.data);
  });

  it('builds, pushes, removes, pulls and runs a busybox image', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const ref = `${berth.host}/library/busybox:1`;
    engine.docker(['build', '-q', '-t', ref, busyboxContext()]);
    const push = engine.docker(['push', ref]);
    assert.match(push, /1: digest: sha256:[a-f0-9]{64} size: \d+/);
    const pushedDigest = /digest: (sha256:[a-f0-9]{64})/.exec(push)![1]!;
    const id = engine.docker(['image', 'inspect', '--format', '{{.Id}}', ref]).trim();
    // docker sends the small config (its digest is the image ID) as a PATCH and an empty PUT: the
    // upload's row held it, and it went to the database's small-blob table, not to a file.
    assert.ok(!existsSync(blobFile(berth.data, id)), 'the small config has no file of its own');
    engine.docker(['rmi', ref]);
    const pull = engine.docker(['pull', ref]);
    assert.match(pull, new RegExp(`Digest: ${pushedDigest}`));
    assert.equal(engine.docker(['image', 'inspect', '--format', '{{.Id}}', ref]).trim(), id);
    assert.equal(
      engine.docker(['run', '--rm', '--network', 'none', ref, 'echo', 'hello from berth']).trim(),
      'hello from berth',
    );
    const byDigest = engine.docker(['pull', `${berth.host}/library/busybox@${pushedDigest}`]);
    assert.match(byDigest, /Digest: sha256:/);
  });

  it('reuses shared layers: same repository, and mounted from another', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const base = `${berth.host}/library/busybox:1`;
    const app = `${berth.host}/library/app:1`;
    engine.docker([
      'build',
      '-q',
      '-t',
      app,
      derivedContext(base, ['RUN echo "cowsay says moo" > /moo.txt', 'CMD ["cat", "/moo.txt"]']),
    ]);
    const sameRepo = engine.docker(['push', app]);
    assert.match(sameRepo, /Mounted from library\/busybox|Layer already exists/);
    const other = `${berth.host}/team/app:2`;
    engine.docker(['tag', app, other]);
    const crossRepo = engine.docker(['push', other]);
    assert.match(crossRepo, /Mounted from library\/(busybox|app)/);
    engine.docker(['rmi', app, other]);
    engine.docker(['pull', other]);
    assert.equal(
      engine.docker(['run', '--rm', '--network', 'none', other]).trim(),
      'cowsay says moo',
    );
    const catalog = (await (await fetch(`${berth.url}/v2/_catalog`)).json()) as {
      repositories: string[];
    };
    assert.deepEqual(catalog.repositories, ['library/app', 'library/busybox', 'team/app']);
  });
});
