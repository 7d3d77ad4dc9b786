/** The berth command line: gc against a live server's data directory, config print, error exits. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { after, describe, it } from 'node:test';
import { blob, configBlob, ociManifest } from '../helpers/content.js';
import { pushBlobOverHttp, putManifestOverHttp } from '../helpers/http-calls.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

function berth(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BERTH_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('berth command line', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDir));

  it('collects garbage while the server runs, sparing a push in flight', async (t) => {
    const server = await spawnBerth();
    dirs.push(server.data);
    t.after(() => server.stop());
    const config = configBlob();
    const old = blob(5000);
    await pushBlobOverHttp(server.url, 'cli/gc', config);
    await pushBlobOverHttp(server.url, 'cli/gc', old);
    const oldManifest = ociManifest(config, [old]);
    assert.equal(await putManifestOverHttp(server.url, 'cli/gc', 'old', oldManifest), 201);
    await fetch(`${server.url}/v2/cli/gc/manifests/${oldManifest.digest}`, { method: 'DELETE' });
    // What was pushed so far is made two hours old (no waiting): with a one-hour grace it is
    // collected, while the blob pushed next is spared however slowly the commands below start.
    const db = new Database(path.join(server.data, 'berth.db'));
    try {
      for (const table of ['blobs', 'repository_blobs', 'manifests'])
        db.prepare(`update ${table} set created_at = created_at - 7200000`).run();
    } finally {
      db.close();
    }

    const fresh = blob(7000);
    await pushBlobOverHttp(server.url, 'cli/gc', fresh);
    const dry = berth([
      'gc',
      '--data',
      server.data,
      '--grace',
      '3600',
      '--untagged',
      'delete',
      '--dry-run',
    ]);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /gc would remove/);
    const run = berth([
      'gc',
      '--data',
      server.data,
      '--grace',
      '3600',
      '--untagged',
      'delete',
      '--json',
    ]);
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { blobs: { digest: string }[]; bytesFreed: number };
    assert.deepEqual(report.blobs.map((b) => b.digest).sort(), [config.digest, old.digest].sort());
    assert.equal(report.bytesFreed, config.size + old.size);

    await pushBlobOverHttp(server.url, 'cli/gc', config);
    assert.equal(
      await putManifestOverHttp(server.url, 'cli/gc', 'fresh', ociManifest(config, [fresh])),
      201,
      'the blob pushed before gc is still there',
    );
    assert.equal((await fetch(`${server.url}/v2/cli/gc/blobs/${old.digest}`)).status, 404);
  });

  it("serves with glibc's allocator tuned and start-up's pages released by the native addons", async (t) => {
    if (process.platform !== 'linux') return t.skip('glibc tuning is for Linux');
    const server = await spawnBerth();
    dirs.push(server.data);
    t.after(() => server.stop());
    // bin/malloc-tuning.js loads the addon only for `berth serve`; loaded means it was called.
    const maps = readFileSync(`/proc/${server.child.pid}/maps`, 'utf8');
    assert.match(maps, /malloc_tuning\.node/, 'berth serve did not load the malloc tuning addon');
    // bin/idle-collector.js releases the executable's pages at berth serve's first idle second:
    // of the 30-40 MiB starting read, about 11 stay or come back while it idles.
    const pid = server.child.pid!;
    await waitUntil(
      () => executableResidentBytes(pid) < 20 << 20,
      "berth serve to release its executable's pages (under 20 MiB of them resident)",
    );
  });

  it("starts from the bundle with V8's code cache, which this Node accepts", () => {
    // What bin/load-bundle.js compiles: the build's cache must match the bundle and this Node,
    // or every start pays for compiling 3.4 MB again (silently: a rejected cache is ignored).
    const loader = pathToFileURL(path.join(path.dirname(BERTH_BIN), 'load-bundle.js')).href;
    const accepted = spawnSync(
      process.execPath,
      ['-e', `import(${JSON.stringify(loader)}).then((m) => console.log(m.codeCacheAccepted()))`],
      { encoding: 'utf8' },
    );
    assert.equal(accepted.stdout.trim(), 'true', accepted.stderr);
    const help = berth(['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: berth/);
  });

  it('writes its code cache from the bundle alone, never from a stale cache beside it', () => {
    // V8 accepts a cache written for any source of the same length: one for a bundle whose code
    // sits five characters further on (the wrapper's parameters without their spaces, five spaces
    // at the end) is accepted, and each function it has not compiled is parsed at the wrong
    // offset. A writer that compiled with it passed that on (every command `serve --auth none`
    // does not run then failed with a SyntaxError). In a copy of the package, as the build runs it.
    const root = path.dirname(path.dirname(BERTH_BIN));
    const copy = tempDir('code-cache');
    dirs.push(copy);
    cpSync(path.join(root, 'bin'), path.join(copy, 'bin'), { recursive: true });
    mkdirSync(path.join(copy, 'dist'));
    for (const file of ['berth.cjs', 'berth.cjs.builtins.json'])
      copyFileSync(path.join(root, 'dist', file), path.join(copy, 'dist', file));
    copyFileSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
    symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
    symlinkSync(path.join(root, 'build'), path.join(copy, 'build'));
    const bundle = path.join(copy, 'dist', 'berth.cjs');
    const source = readFileSync(bundle, 'latin1');
    const spaced = '(exports, require, module, __filename, __dirname, berthImport)';
    assert.ok(source.startsWith(`(function ${spaced}`), 'the bundle starts with its wrapper');
    const shifted = `${source.replace(spaced, spaced.replaceAll(' ', ''))}     `;
    assert.equal(shifted.length, source.length);
    const stale = spawnSync(
      process.execPath,
      [
        '-e',
        `const vm = require('node:vm'); const fs = require('node:fs');
         const s = new vm.Script(fs.readFileSync(0, 'latin1'), { filename: ${JSON.stringify(bundle)} });
         fs.writeFileSync(${JSON.stringify(`${bundle}.cache`)}, s.createCachedData());`,
      ],
      { input: Buffer.from(shifted, 'latin1') },
    );
    assert.equal(stale.status, 0, String(stale.stderr));
    const loader = pathToFileURL(path.join(copy, 'bin', 'load-bundle.js')).href;
    const writer = spawnSync(
      process.execPath,
      [
        '-e',
        `import(${JSON.stringify(loader)}).then((m) => m.writeCodeCache()).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); })`,
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH, BERTH_LOG_LEVEL: 'warn' } },
    );
    assert.equal(writer.status, 0, writer.stderr);
    const data = tempDir('code-cache-data');
    dirs.push(data);
    const list = spawnSync(
      process.execPath,
      [path.join(copy, 'bin', 'berth.js'), 'user', 'list', '--json', '--data', data],
      { encoding: 'utf8', env: { PATH: process.env.PATH } },
    );
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), []);
  });

  it('fails on an unreachable S3 store with one line, and no SDK warning about Node versions', () => {
    const data = tempDir('s3-unreachable');
    dirs.push(data);
    const r = berth(['serve', '--data', data, '--listen', '127.0.0.1:0'], {
      BERTH_STORAGE_BACKEND: 's3',
      BERTH_STORAGE_S3_BUCKET: 'berth',
      BERTH_STORAGE_S3_ENDPOINT: 'http://127.0.0.1:1',
      BERTH_STORAGE_S3_ACCESS_KEY_ID: 'key',
      BERTH_STORAGE_S3_SECRET_ACCESS_KEY: 'secret',
      BERTH_LOG_LEVEL: 'silent',
    });
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning/);
    assert.match(r.stderr.trim(), /^berth: .*ECONNREFUSED/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('prints the effective configuration with environment and flags applied', () => {
    const out = berth(['config', 'print', '--data', '/srv/berth'], { BERTH_GC_GRACE: '42' });
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /data: \/srv\/berth/);
    assert.match(out.stdout, /grace: 42/);
  });

  it('saves, lists and removes a directory provider, its bind password read from stdin and sealed', () => {
    const data = tempDir('cli-idp');
    dirs.push(data);
    const file = path.join(data, 'lab.yaml');
    writeFileSync(
      file,
      [
        'name: lab',
        'preset: freeipa',
        'urls: [ldaps://ipa.example.test]',
        'bindDn: uid=svc,cn=sysaccounts,cn=etc,dc=example,dc=test',
        'userBase: cn=users,cn=accounts,dc=example,dc=test',
      ].join('\n'),
    );
    const secret = 'cli-bind-secret-42';
    const added = spawnSync(
      process.execPath,
      [BERTH_BIN, 'idp', 'add', file, '--bind-password-stdin', '--data', data],
      { input: secret, encoding: 'utf8' },
    );
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stdout, /saved identity provider lab/);
    const listed = berth(['idp', 'list', '--json', '--data', data]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.ok(!listed.stdout.includes(secret));
    const { providers } = JSON.parse(listed.stdout) as {
      providers: { name: string; source: string; groups: string | null }[];
    };
    assert.deepEqual(
      providers.map((p) => `${p.name}:${p.source}:${p.groups}`),
      ['local:built-in:null', 'lab:saved:memberOf'],
    );
    const db = new Database(path.join(data, 'berth.db'), { readonly: true });
    try {
      const rows = JSON.stringify(db.prepare('select * from identity_providers').all());
      assert.ok(rows.includes('ipa.example.test') && !rows.includes(secret), rows);
    } finally {
      db.close();
    }
    writeFileSync(file, 'name: bad\nurls: [http://x]\n');
    const bad = berth(['idp', 'add', file, '--data', data]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^berth: urls\.0: an ldap:\/\/ or ldaps:\/\/ URL/);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    const removed = berth(['idp', 'rm', 'lab', '--data', data]);
    assert.equal(removed.status, 0, removed.stderr);
    assert.doesNotMatch(berth(['idp', 'list', '--data', data]).stdout, /lab/);
  });

  it('fails with a one-line message on bad input', () => {
    const data = tempDir('badcli');
    dirs.push(data);
    const bad = berth(['serve', '--data', data, '--listen', 'nowhere']);
    assert.notEqual(bad.status, 0);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /^berth: invalid configuration at listen/);
    const badFile = berth(['config', 'print', '--config', '/nonexistent/berth.yaml']);
    assert.notEqual(badFile.status, 0);
    assert.match(badFile.stderr, /^berth: .*nonexistent/);
  });

  it('manages accounts on the data directory of a running server, which sees the changes', async () => {
    const server = await spawnBerth({ auth: 'token' });
    dirs.push(server.data);
    const d = ['--data', server.data];
    const ok = (args: string[], input?: string): string => {
      const r = spawnSync(process.execPath, [BERTH_BIN, ...args, ...d], {
        encoding: 'utf8',
        input,
      });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.match(ok(['user', 'add', 'alice']), /created user alice with password \S{12,}/);
    ok(['user', 'passwd', 'alice'], 'alice-password-1\n');
    ok(['org', 'create', 'acme', '--owner', 'alice']);
    ok(['team', 'create', 'acme', 'devs']);
    ok(['team', 'add-member', 'acme', 'devs', 'alice']);
    ok(['repo', 'create', 'acme/app', '--private']);
    const token = ok([
      'token',
      'create',
      '--user',
      'alice',
      '--name',
      'ci',
      '--level',
      'write',
    ]).trim();
    assert.match(token, /^berth_pat_\d+_/);
    const auth = `Basic ${Buffer.from(`alice:${token}`).toString('base64')}`;
    const repos = (await (
      await fetch(`${server.url}/api/v1/repositories`, { headers: { authorization: auth } })
    ).json()) as { repositories: { name: string; visibility: string }[] };
    assert.deepEqual(
      repos.repositories.map((r) => [r.name, r.visibility]),
      [['acme/app', 'private']],
    );
    assert.equal((await fetch(`${server.url}/v2/acme/app/tags/list`)).status, 401);
    assert.equal(
      (await fetch(`${server.url}/v2/acme/app/tags/list`, { headers: { authorization: auth } }))
        .status,
      200,
    );
    const users = JSON.parse(ok(['user', 'list', '--json'])) as { name: string }[];
    assert.deepEqual(
      users.map((u) => u.name),
      ['admin', 'alice'],
    );
    const audit = ok(['audit', '--action', 'repository']);
    assert.match(audit, /local:\S+\s+repository\.create\s+acme\/app\s+success/);
    // A governance command writes its audit entry through the command's one audit log.
    ok(['immutable', 'add', 'acme/app', '--pattern', '^v']);
    assert.match(
      ok(['audit', '--action', 'immutable']),
      /local:\S+\s+immutable\.add\s+acme\/app\s+success/,
    );
    const refused = berth(['repo', 'grant', 'acme/app', 'write', ...d]);
    assert.notEqual(refused.status, 0);
    assert.equal(refused.stderr, 'berth: name exactly one of --user and --team\n');
    await server.stop();
  });
});

/** The resident bytes of the node executable's mappings in process `pid`. */
function executableResidentBytes(pid: number): number {
  const executable = realpathSync(process.execPath);
  let kib = 0;
  let ours = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) ours = header[1] === executable;
    else if (ours && line.startsWith('Rss:')) kib += Number(line.split(/\s+/)[1]);
  }
  return kib * 1024;
}
