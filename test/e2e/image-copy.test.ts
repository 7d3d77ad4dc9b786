/**
 * `berth image copy|inspect|digest|tags|rm|catalog` and `berth login/logout` against a spawned
 * Berth with auth on and the reference registry, checked with skopeo.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { multiPlatformLayout } from '../helpers/oci-layout.js';
import { startFlakyProxy } from '../helpers/flaky-proxy.js';
import { startReferenceRegistry, type ReferenceRegistry } from '../helpers/reference-registry.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { needTools, run, skipUnlessTools } from '../helpers/tools.js';

const TOOLS = ['skopeo', 'docker-registry'];
const ADMIN = 'admin:image-admin-password';

describe('berth image tools', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let reference: ReferenceRegistry;
  let dockerConfig: string;
  let layout: ReturnType<typeof multiPlatformLayout>;
  const image = (args: string[], input?: string) => {
    const r = spawnSync(process.execPath, [BERTH_BIN, ...args], {
      encoding: 'utf8',
      input,
      env: { ...process.env, DOCKER_CONFIG: dockerConfig },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (args: string[], input?: string): string => {
    const r = image(args, input);
    assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const raw = (ref: string, creds?: string): string =>
    run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      ...(creds ? ['--creds', creds] : []),
      `docker://${ref}`,
    ]);

  before(async () => {
    berth = await spawnBerth({ auth: 'token', adminPassword: 'image-admin-password' });
    reference = await startReferenceRegistry();
    dockerConfig = tempDir('docker-config');
    layout = multiPlatformLayout('multi', ['amd64', 'arm64']);
    run('skopeo', [
      'copy',
      '--all',
      '--dest-tls-verify=false',
      '--dest-creds',
      ADMIN,
      `oci:${layout.dir}:multi`,
      `docker://${berth.host}/admin/multi:v1`,
    ]);
  });
  after(async () => {
    await berth?.stop();
    await reference?.stop();
    if (berth) removeDir(berth.data);
    if (dockerConfig) removeDir(dockerConfig);
  });

  it('logs in, keeping the credentials where docker keeps them, and refuses a wrong password', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const wrong = image(
      ['login', berth.host, '-u', 'admin', '--password-stdin'],
      'not-the-password\n',
    );
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /^berth: .*login failed: incorrect username or password\n$/);
    assert.match(
      ok(['login', berth.host, '-u', 'admin', '--password-stdin'], 'image-admin-password\n'),
      /Login Succeeded/,
    );
    const config = JSON.parse(readFileSync(path.join(dockerConfig, 'config.json'), 'utf8')) as {
      auths: Record<string, { auth: string }>;
    };
    assert.equal(Buffer.from(config.auths[berth.host]!.auth, 'base64').toString(), ADMIN);
  });

  it('copies a multi-platform index whole within Berth, mounting every blob', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const out = ok([
      'image',
      'copy',
      '--all-platforms',
      `${berth.host}/admin/multi:v1`,
      `${berth.host}/admin/copy:v1`,
    ]);
    assert.match(out, /0 blobs copied, 4 mounted, 0 already there/);
    assert.equal(
      raw(`${berth.host}/admin/copy:v1`, ADMIN),
      raw(`${berth.host}/admin/multi:v1`, ADMIN),
    );
    assert.equal(
      ok(['image', 'digest', `${berth.host}/admin/copy:v1`]).trim(),
      layout.index.digest,
    );
    const again = ok([
      'image',
      'copy',
      '--all-platforms',
      `${berth.host}/admin/multi:v1`,
      `${berth.host}/admin/copy:v2`,
    ]);
    assert.match(again, /0 blobs copied, 0 mounted, 4 already there/);
  });

  it('copies the index to the reference registry byte for byte, and one platform of it', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const json = ok([
      'image',
      'copy',
      '--all-platforms',
      '--json',
      `${berth.host}/admin/multi:v1`,
      `${reference.host}/mirror/multi:v1`,
    ]);
    const events = json
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; blobs?: { copied: number } });
    assert.equal(events.at(-1)!.event, 'done');
    assert.equal(events.at(-1)!.blobs!.copied, 4);
    assert.ok(events.some((e) => e.event === 'start') && events.some((e) => e.event === 'finish'));
    assert.equal(
      raw(`${reference.host}/mirror/multi:v1`),
      raw(`${berth.host}/admin/multi:v1`, ADMIN),
    );
    ok([
      'image',
      'copy',
      '--platform',
      'linux/arm64',
      `${reference.host}/mirror/multi:v1`,
      `${berth.host}/admin/arm:v1`,
    ]);
    assert.equal(
      ok(['image', 'digest', `${berth.host}/admin/arm:v1`]).trim(),
      layout.images[1]!.digest,
    );
    const pulled = JSON.parse(
      run('skopeo', [
        'inspect',
        '--tls-verify=false',
        '--creds',
        ADMIN,
        `docker://${berth.host}/admin/arm:v1`,
      ]),
    ) as { Architecture: string };
    assert.equal(pulled.Architecture, 'arm64');
  });

  it('inspects, lists tags and the catalog, and deletes a tag', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const index = JSON.parse(ok(['image', 'inspect', `${berth.host}/admin/multi:v1`])) as {
      manifests: { platform: string }[];
    };
    assert.deepEqual(
      index.manifests.map((m) => m.platform),
      ['linux/amd64', 'linux/arm64'],
    );
    const single = JSON.parse(ok(['image', 'inspect', `${berth.host}/admin/arm:v1`])) as {
      architecture: string;
      layers: unknown[];
    };
    assert.equal(single.architecture, 'arm64');
    assert.equal(single.layers.length, 1);
    assert.equal(
      ok(['image', 'inspect', '--raw', `${berth.host}/admin/multi:v1`]),
      raw(`${berth.host}/admin/multi:v1`, ADMIN),
    );
    assert.deepEqual(
      ok(['image', 'tags', `${berth.host}/admin/copy`])
        .trim()
        .split('\n'),
      ['v1', 'v2'],
    );
    assert.deepEqual(ok(['image', 'catalog', berth.host]).trim().split('\n'), [
      'admin/arm',
      'admin/copy',
      'admin/multi',
    ]);
    assert.match(ok(['image', 'rm', `${berth.host}/admin/copy:v2`]), /deleted/);
    assert.deepEqual(
      ok(['image', 'tags', `${berth.host}/admin/copy`])
        .trim()
        .split('\n'),
      ['v1'],
    );
  });

  it('fails with one line naming what is missing, and leaves no image behind', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const missing = image([
      'image',
      'copy',
      `${berth.host}/admin/nothing:v1`,
      `${berth.host}/admin/target:v1`,
    ]);
    assert.notEqual(missing.status, 0);
    assert.equal(missing.stderr.split('\n').length, 2, missing.stderr);
    assert.match(missing.stderr, /^berth: .*admin\/nothing.*(MANIFEST_UNKNOWN|NAME_UNKNOWN)/);
    const badRef = image(['image', 'inspect', 'no-registry-here']);
    assert.match(badRef.stderr, /^berth: no-registry-here: name the registry too/);
    assert.match(ok(['logout', berth.host]), /Removed login credentials/);
    const loggedOut = image(['image', 'tags', `${berth.host}/admin/multi`]);
    assert.notEqual(loggedOut.status, 0);
    assert.match(loggedOut.stderr, /^berth: .*(UNAUTHORIZED|DENIED)/);
  });

  it('retries through connection resets', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    // The proxy lives in this process, so berth must run without blocking it (no spawnSync).
    const proxy = await startFlakyProxy(reference.host, 3);
    try {
      const args = [
        'image',
        'copy',
        '--all-platforms',
        '--dest-creds',
        ADMIN,
        `${proxy.host}/mirror/multi:v1`,
        `${berth.host}/admin/retried:v1`,
      ];
      const child = spawn(process.execPath, [BERTH_BIN, ...args], {
        env: { ...process.env, DOCKER_CONFIG: dockerConfig },
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      assert.equal(code, 0, output);
      assert.match(output, /4 blobs copied/);
      assert.equal(proxy.resets(), 3);
      assert.equal(
        raw(`${berth.host}/admin/retried:v1`, ADMIN),
        raw(`${reference.host}/mirror/multi:v1`),
      );
    } finally {
      await proxy.stop();
    }
  });
});
