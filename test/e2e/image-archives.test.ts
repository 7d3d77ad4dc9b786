/**
 * `berth image save` and `load` against a real dockerd and skopeo: docker save → berth load →
 * docker pull keeps the image ID; berth save → docker load → docker run works; two images share
 * their layers; skopeo reads what berth writes and berth reads what skopeo writes; a truncated
 * archive fails cleanly and leaves the registry as it was.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  truncateSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import {
  BERTH_BIN,
  blobFile,
  removeDir,
  spawnBerth,
  tempDir,
  type SpawnedBerth,
} from '../helpers/server.js';
import { needTools, run, skipUnlessTools } from '../helpers/tools.js';

const TOOLS = ['dockerd', 'docker', 'busybox', 'skopeo'];
const PASSWORD = 'archive-admin-password';
const CREDS = `admin:${PASSWORD}`;

describe('berth image save and load', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let engine: PrivateDockerd;
  let work: string;
  let host: string;
  const berthCli = (args: string[]) => {
    const r = spawnSync(process.execPath, [BERTH_BIN, ...args, '--creds', CREDS], {
      encoding: 'utf8',
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (args: string[]): string => {
    const r = berthCli(args);
    assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const imageId = (ref: string) =>
    engine.docker(['image', 'inspect', '--format', '{{.Id}}', ref]).trim();

  before(async () => {
    berth = await spawnBerth({ auth: 'token', adminPassword: PASSWORD });
    host = berth.host;
    engine = await startDockerd();
    work = tempDir('archives');
    engine.docker(['login', '-u', 'admin', '--password-stdin', host], { input: PASSWORD });
    engine.docker(['build', '-q', '-t', `${host}/admin/bb:1`, busyboxContext()]);
    engine.docker([
      'build',
      '-q',
      '-t',
      `${host}/admin/moo:1`,
      derivedContext(`${host}/admin/bb:1`, ['RUN echo moo > /moo.txt', 'CMD ["cat", "/moo.txt"]']),
    ]);
  });
  after(async () => {
    await engine?.stop();
    await berth?.stop();
    if (berth) removeDir(berth.data);
    if (work) removeDir(work);
  });

  it('loads a docker save tarball; docker pull then gives the same image ID', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const id = imageId(`${host}/admin/bb:1`);
    const archive = path.join(work, 'docker-saved.tar');
    engine.docker(['save', '-o', archive, `${host}/admin/bb:1`, `${host}/admin/moo:1`]);
    const out = ok(['image', 'load', archive]);
    assert.match(out, new RegExp(`loaded ${host}/admin/bb:1 \\(sha256:`));
    assert.match(out, new RegExp(`loaded ${host}/admin/moo:1 \\(sha256:`));
    // The image config (its digest is the image ID) was uploaded whole and is small: it lives in
    // the database, not in a file (storage.inlineBytes), and docker pulls it from there.
    assert.ok(!existsSync(blobFile(berth.data, id)), 'the small config has no file of its own');
    engine.docker(['rmi', `${host}/admin/moo:1`, `${host}/admin/bb:1`]);
    engine.docker(['pull', `${host}/admin/bb:1`]);
    assert.equal(imageId(`${host}/admin/bb:1`), id);
    engine.docker(['pull', `${host}/admin/moo:1`]);
    assert.equal(
      engine.docker(['run', '--rm', '--network', 'none', `${host}/admin/moo:1`]).trim(),
      'moo',
    );
  });

  it('saves two images sharing layers into one archive that docker load takes and runs', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const ids = [imageId(`${host}/admin/bb:1`), imageId(`${host}/admin/moo:1`)];
    const archive = path.join(work, 'berth-saved.tar');
    ok(['image', 'save', '-o', archive, `${host}/admin/bb:1`, `${host}/admin/moo:1`]);
    const entries = run('tar', ['-tf', archive]).trim().split('\n');
    assert.equal(new Set(entries).size, entries.length, 'every blob once');
    const manifest = JSON.parse(run('tar', ['-xOf', archive, 'manifest.json'])) as {
      Layers: string[];
      RepoTags: string[];
    }[];
    assert.deepEqual(
      manifest.map((m) => m.RepoTags),
      [[`${host}/admin/bb:1`], [`${host}/admin/moo:1`]],
    );
    assert.equal(manifest[1]!.Layers[0], manifest[0]!.Layers[0], 'the base layer is shared');
    engine.docker(['rmi', `${host}/admin/moo:1`, `${host}/admin/bb:1`]);
    engine.docker(['load', '-i', archive]);
    assert.deepEqual([imageId(`${host}/admin/bb:1`), imageId(`${host}/admin/moo:1`)], ids);
    assert.equal(
      engine.docker(['run', '--rm', '--network', 'none', `${host}/admin/moo:1`]).trim(),
      'moo',
    );
  });

  it('writes what skopeo reads (docker-archive and OCI layout) and reads what skopeo writes', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const archive = path.join(work, 'one.tar');
    ok(['image', 'save', '-o', archive, `${host}/admin/moo:1`]);
    const inRegistry = JSON.parse(
      run('skopeo', [
        'inspect',
        '--tls-verify=false',
        '--creds',
        CREDS,
        `docker://${host}/admin/moo:1`,
      ]),
    ) as { Layers: string[] };
    const fromArchive = JSON.parse(run('skopeo', ['inspect', `docker-archive:${archive}`])) as {
      Layers: string[];
    };
    assert.deepEqual(fromArchive.Layers, inRegistry.Layers);
    const layout = path.join(work, 'oci-layout');
    ok(['image', 'save', '--format', 'oci', '-o', layout, `${host}/admin/moo:1`]);
    const fromLayout = JSON.parse(run('skopeo', ['inspect', `oci:${layout}:1`])) as {
      Layers: string[];
    };
    assert.deepEqual(fromLayout.Layers, inRegistry.Layers);

    const skopeoArchive = path.join(work, 'skopeo.tar');
    run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      CREDS,
      `docker://${host}/admin/moo:1`,
      `docker-archive:${skopeoArchive}:${host}/admin/from-archive:1`,
    ]);
    assert.match(
      ok(['image', 'load', skopeoArchive]),
      new RegExp(`loaded ${host}/admin/from-archive:1`),
    );
    const skopeoLayout = path.join(work, 'skopeo-layout');
    run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      CREDS,
      `docker://${host}/admin/moo:1`,
      `oci:${skopeoLayout}:v1`,
    ]);
    assert.match(
      ok(['image', 'load', skopeoLayout, '--tag', `${host}/admin/from-layout:1`]),
      /loaded/,
    );
    engine.docker(['pull', `${host}/admin/from-layout:1`]);
    assert.equal(
      engine.docker(['run', '--rm', '--network', 'none', `${host}/admin/from-layout:1`]).trim(),
      'moo',
    );
  });

  it('refuses truncated and malformed archives with one line, pushing no image', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const archive = path.join(work, 'cut.tar');
    ok(['image', 'save', '-o', archive, `${host}/admin/moo:1`]);
    const cut = path.join(work, 'cut-half.tar');
    run('cp', [archive, cut]);
    truncateSync(cut, Math.floor(statSync(archive).size / 2));
    const before = ok(['image', 'catalog', host]);
    const truncated = berthCli(['image', 'load', cut, '--tag', `${host}/admin/cut:1`]);
    assert.notEqual(truncated.status, 0);
    assert.equal(truncated.stderr.trim().split('\n').length, 1, truncated.stderr);
    assert.match(truncated.stderr, /^berth: .*cut-half\.tar.*(truncated|missing)/);
    const notArchive = path.join(work, 'nonsense.tar');
    run('sh', ['-c', `head -c 4096 /dev/urandom > ${notArchive}`]);
    const malformed = berthCli(['image', 'load', notArchive, '--tag', `${host}/admin/cut:1`]);
    assert.notEqual(malformed.status, 0);
    assert.match(malformed.stderr, /^berth: .*nonsense\.tar/);
    assert.equal(ok(['image', 'catalog', host]), before, 'nothing new in the registry');
    const missing = berthCli([
      'image',
      'save',
      '-o',
      path.join(work, 'none.tar'),
      `${host}/admin/none:1`,
    ]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /^berth: .*admin\/none/);
    assert.throws(() => readFileSync(path.join(work, 'none.tar')), 'no partial archive left');
  });

  it('pushes with the credentials docker login left, and refuses a corrupted layout blob', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    // docker login kept an identity token (a refresh token) in its config.json; berth uses it.
    const env = { ...process.env, DOCKER_CONFIG: engine.env.DOCKER_CONFIG };
    const tags = spawnSync(process.execPath, [BERTH_BIN, 'image', 'tags', `${host}/admin/moo`], {
      encoding: 'utf8',
      env,
    });
    assert.equal(tags.status, 0, tags.stderr);
    assert.deepEqual(tags.stdout.trim().split('\n'), ['1']);
    const layout = path.join(work, 'corrupt-layout');
    ok(['image', 'save', '--format', 'oci', '-o', layout, `${host}/admin/moo:1`]);
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(
      readFileSync(
        path.join(layout, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)),
        'utf8',
      ),
    ) as { layers: { digest: string }[] };
    const layerFile = path.join(layout, 'blobs', 'sha256', manifest.layers.at(-1)!.digest.slice(7));
    const bytes = readFileSync(layerFile);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(layerFile, bytes);
    const refused = berthCli(['image', 'load', layout, '--tag', `${host}/admin/corrupt:1`]);
    assert.notEqual(refused.status, 0);
    assert.match(
      refused.stderr,
      /^berth: .*corrupt-layout: blob sha256:[a-f0-9]{64} has content sha256:[a-f0-9]{64} \(corrupted\)\n$/,
    );
    const listed = ok(['image', 'catalog', host]);
    assert.ok(!listed.includes('admin/corrupt'), 'no image left behind');
  });

  it('names the output and writes nothing when the disk is full', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    if (process.getuid?.() !== 0) {
      if (process.env.CI)
        throw new Error('CI is set and this test needs root (it mounts a small tmpfs)');
      process.stderr.write(`SKIP ${t.name}: needs root to mount a small tmpfs\n`);
      return t.skip('needs root');
    }
    const small = tempDir('full');
    run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small]);
    try {
      const out = path.join(small, 'moo.tar');
      const full = berthCli(['image', 'save', '-o', out, `${host}/admin/moo:1`]);
      assert.notEqual(full.status, 0);
      assert.match(full.stderr, new RegExp(`^berth: ${out}: ENOSPC: .*nothing was written\\n$`));
      assert.deepEqual(readdirSync(small), [], 'no partial file left');
    } finally {
      run('umount', [small]);
      removeDir(small);
    }
  });
});
