/**
 * `berth image export` against `docker export` of a container made from the same image (files
 * added, changed, deleted and linked in later layers), and `berth image import` of that tarball
 * into an image docker pulls and runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { tarRows } from '../helpers/tar-listing.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';

const TOOLS = ['dockerd', 'docker', 'busybox'];
const PASSWORD = 'export-admin-password';
/**
 * What docker adds to every container (its init layer and mount points) and no image has; `etc`
 * itself when the image lacks it (busybox built from scratch does).
 */
const CONTAINER_ONLY =
  /^(\.dockerenv|dev(\/.*)?|proc|sys|etc|etc\/(hostname|hosts|mtab|resolv\.conf))$/;

describe('berth image export and import', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let engine: PrivateDockerd;
  let work: string;
  let host: string;
  const ok = (args: string[]): string => {
    const r = spawnSync(process.execPath, [BERTH_BIN, ...args, '--creds', `admin:${PASSWORD}`], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    berth = await spawnBerth({ auth: 'token', adminPassword: PASSWORD });
    host = berth.host;
    engine = await startDockerd();
    work = tempDir('export');
    engine.docker(['login', '-u', 'admin', '--password-stdin', host], { input: PASSWORD });
    const base = `${host}/admin/base:1`;
    engine.docker(['build', '-q', '-t', base, busyboxContext()]);
    const layered = derivedContext(base, [
      'RUN mkdir -p /data/old /data/keep && echo one > /data/old/a && echo keep > /data/keep/k && echo hi > /added.txt',
      'RUN rm -r /data/old && rm /bin/ls && echo changed > /data/keep/k && chmod 0751 /added.txt',
      'RUN ln /added.txt /hard.txt && ln -s /added.txt /soft.txt && mkdir /data/old && echo new > /data/old/b',
    ]);
    engine.docker(['build', '-q', '-t', `${host}/admin/layered:1`, layered]);
    engine.docker(['push', `${host}/admin/layered:1`]);
  });
  after(async () => {
    await engine?.stop();
    await berth?.stop();
    if (berth) removeDir(berth.data);
    if (work) removeDir(work);
  });

  it('exports exactly the files docker export gives for a container of the image', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const ours = path.join(work, 'berth-export.tar');
    ok(['image', 'export', `${host}/admin/layered:1`, '-o', ours]);
    const container = engine.docker(['create', `${host}/admin/layered:1`, 'true']).trim();
    const theirs = path.join(work, 'docker-export.tar');
    engine.docker(['export', '-o', theirs, container]);
    const a = await tarRows(ours);
    const b = await tarRows(theirs);
    for (const name of [...b.keys()]) if (CONTAINER_ONLY.test(name) && !a.has(name)) b.delete(name);
    assert.ok(!a.has('data/old/a') && a.has('data/old/b') && !a.has('bin/ls'), 'whiteouts applied');
    assert.equal(a.get('data/keep/k')!.sha256, b.get('data/keep/k')!.sha256);
    assert.equal(a.get('added.txt')!.mode, '751');
    assert.equal(a.get('soft.txt')!.link, '/added.txt');
    const only = (x: Map<string, unknown>, y: Map<string, unknown>) =>
      [...x.keys()].filter((k) => !y.has(k));
    assert.deepEqual(only(a, b), [], 'nothing extra in berth export');
    assert.deepEqual(only(b, a), [], 'nothing missing from berth export');
    for (const [name, row] of a) assert.deepEqual(row, b.get(name), name);
  });

  it('imports that root filesystem as an image docker pulls and runs', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const theirs = path.join(work, 'docker-export.tar');
    const out = ok([
      'image',
      'import',
      theirs,
      `${host}/admin/imported:1`,
      '--change',
      'CMD ["/bin/cat", "/added.txt"]',
      '--change',
      'ENV GREETING=hello',
    ]);
    assert.match(out, /imported .* \(sha256:[a-f0-9]{64}\)/);
    engine.docker(['pull', `${host}/admin/imported:1`]);
    assert.equal(
      engine.docker(['run', '--rm', '--network', 'none', `${host}/admin/imported:1`]).trim(),
      'hi',
    );
    assert.equal(
      engine
        .docker([
          'run',
          '--rm',
          '--network',
          'none',
          `${host}/admin/imported:1`,
          'sh',
          '-c',
          'echo $GREETING',
        ])
        .trim(),
      'hello',
    );
  });
});
