/**
 * Automated builds with a real git server (`git http-backend` on 127.0.0.1), a real dockerd and
 * the docker CLI: a commit to main plus a GitHub-signed webhook builds an image that `docker
 * pull` and `docker run` show holding the commit's content (labelled with its revision); a bad
 * signature builds nothing; a tag matching /^v([0-9.]+)$/ becomes image tag 1.2.3; a broken
 * Dockerfile fails with the engine's error in the stored log and a build.failed event; of two
 * quick commits only the newest is built; cancel stops a running build; polling finds a commit no
 * webhook announced; a kill -9 of Berth mid-build leaves the build interrupted and queued again
 * once, and the second try succeeds.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  busyboxContext,
  derivedContext,
  startDockerd,
  type PrivateDockerd,
} from '../helpers/dockerd.js';
import { startGitServer, type GitServer } from '../helpers/git-server.js';
import { startSshd } from '../helpers/sshd.js';
import path from 'node:path';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { spawnSync } from 'node:child_process';
import { needTools, skipUnlessTools } from '../helpers/tools.js';
import { waitUntil } from '../helpers/wait.js';

const TOOLS = ['dockerd', 'docker', 'busybox', 'git'];
const ADMIN_PASSWORD = 'builds-admin-password';
const ALICE = `Basic ${Buffer.from('alice:alice-password-1').toString('base64')}`;
const ADMIN = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
const BASE = 'local/busybox:1';

interface Build {
  id: number;
  state: string;
  commit: string;
  tags: string[];
  trigger: string;
  digest: string | null;
  error: string | null;
  log?: string;
}

async function call(base: string, method: string, path: string, body?: unknown, auth = ALICE) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** Runs the `berth` CLI on `data`; returns its output. */
function berthCli(args: string[], data: string): string {
  const r = spawnSync(process.execPath, [BERTH_BIN, ...args, '--data', data], { encoding: 'utf8' });
  assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Sends a GitHub push webhook for `ref` at `commit`, signed with `secret`. */
async function githubPush(
  berthUrl: string,
  hook: string,
  secret: string,
  ref: string,
  commit: string,
  message = 'a change',
) {
  const body = JSON.stringify({
    ref,
    after: commit,
    head_commit: { id: commit, message },
    repository: { default_branch: 'main' },
  });
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const res = await fetch(`${berthUrl}${hook}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-hub-signature-256': signature,
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as { queued: number[] } };
}

describe('automated builds from git', { skip: skipUnlessTools(TOOLS) }, () => {
  let engine: PrivateDockerd;
  let git: GitServer;
  let server: SpawnedBerth;
  let data: string;
  const env = (): NodeJS.ProcessEnv => ({
    BERTH_BUILDS_DOCKER_HOST: engine.env.DOCKER_HOST,
    BERTH_BUILDS_LEASE_SECONDS: '3',
    BERTH_BUILDS_POLL_MS: '200',
    BERTH_BUILDS_PER_NAMESPACE: '2',
  });
  const start = () =>
    spawnBerth({ data, auth: 'token', adminPassword: ADMIN_PASSWORD, env: env() });
  const build = async (id: number) =>
    (await call(server.url, 'GET', `/api/v1/builds/${id}`)).body as Build;
  const finished = async (id: number, what = `build ${id} to finish`) => {
    await waitUntil(
      async () => !['queued', 'running'].includes((await build(id)).state),
      what,
      180_000,
    );
    return build(id);
  };

  before(async () => {
    engine = await startDockerd();
    engine.docker(['build', '-q', '-t', BASE, busyboxContext()]);
    git = await startGitServer();
    data = tempDir('builds');
    server = await start();
    const user = await call(
      server.url,
      'POST',
      '/api/v1/users',
      { name: 'alice', password: 'alice-password-1' },
      ADMIN,
    );
    assert.equal(user.status, 201);
    engine.docker(['login', '-u', 'alice', '--password-stdin', server.host], {
      input: 'alice-password-1',
    });
  });
  after(async () => {
    await server?.stop();
    await engine?.stop();
    await git?.close();
    if (data) removeDir(data);
  });

  let hook = '';
  let secret = '';
  let repo: ReturnType<GitServer['repository']>;

  it('builds a pushed commit from a signed GitHub webhook; docker pulls and runs it', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    repo = git.repository('app');
    const first = repo.commit(
      {
        Dockerfile: `FROM ${BASE}\nCOPY message.txt /message.txt\nCMD ["cat", "/message.txt"]\n`,
        'message.txt': 'hello from the first commit\n',
      },
      'first',
    );
    assert.equal(
      (await call(server.url, 'POST', '/api/v1/repositories', { name: 'alice/app' })).status,
      201,
    );
    const linked = await call(server.url, 'PUT', '/api/v1/repositories/alice/app/_build', {
      source: repo.url,
      rules: [
        { sourceType: 'branch', source: 'main', tag: 'latest' },
        { sourceType: 'tag', source: '/^v([0-9.]+)$/', tag: '{\\1}' },
      ],
    });
    assert.equal(linked.status, 200, JSON.stringify(linked.body));
    const answer = linked.body as { hookSecret: string; config: { hooks: { github: string } } };
    hook = answer.config.hooks.github;
    secret = answer.hookSecret;

    const forged = await githubPush(server.url, hook, 'not-the-secret', 'refs/heads/main', first);
    assert.equal(forged.status, 403, 'a bad signature is refused');
    const pushed = await githubPush(server.url, hook, secret, 'refs/heads/main', first);
    assert.equal(pushed.status, 202);
    assert.equal(pushed.body.queued.length, 1);
    const done = await finished(pushed.body.queued[0]!);
    assert.equal(done.state, 'succeeded', done.error ?? '');
    assert.match(done.digest!, /^sha256:/);
    const history = (await call(server.url, 'GET', '/api/v1/repositories/alice/app/_builds'))
      .body as Build[];
    assert.equal(history.length, 1, 'the forged webhook built nothing');

    engine.docker(['pull', `${server.host}/alice/app:latest`]);
    const out = engine.docker([
      'run',
      '--rm',
      '--network',
      'none',
      `${server.host}/alice/app:latest`,
    ]);
    assert.equal(out.trim(), 'hello from the first commit');
    const revision = engine.docker([
      'image',
      'inspect',
      '--format',
      '{{index .Config.Labels "org.opencontainers.image.revision"}}',
      `${server.host}/alice/app:latest`,
    ]);
    assert.equal(revision.trim(), first);
    const log = (await build(done.id)).log ?? '';
    assert.match(log, /fetching .* at [0-9a-f]{40}/);
    assert.match(log, /pushed sha256:/);
    // The same through the CLI, on the data directory the server runs on.
    assert.match(berthCli(['build', 'list', 'alice/app'], data), /succeeded\s+refs\/heads\/main/);
    assert.match(berthCli(['build', 'logs', String(done.id)], data), /pushed sha256:/);
    berthCli(
      [
        'build',
        'rules',
        'alice/app',
        '--rule',
        'branch:main:latest',
        '--rule',
        'tag:/^v([0-9.]+)$/:{\\1}',
      ],
      data,
    );
    const rules = (await call(server.url, 'GET', '/api/v1/repositories/alice/app/_build')).body as {
      rules: { source: string; tag: string }[];
    };
    assert.deepEqual(
      rules.rules.map((r) => [r.source, r.tag]),
      [
        ['main', 'latest'],
        ['/^v([0-9.]+)$/', '{\\1}'],
      ],
    );
  });

  it('turns tag v1.2.3 into image tag 1.2.3', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const commit = repo.tag('v1.2.3');
    const pushed = await githubPush(server.url, hook, secret, 'refs/tags/v1.2.3', commit);
    const done = await finished(pushed.body.queued[0]!);
    assert.equal(done.state, 'succeeded', done.error ?? '');
    assert.deepEqual(done.tags, ['1.2.3']);
    engine.docker(['pull', `${server.host}/alice/app:1.2.3`]);
  });

  it('fails a broken Dockerfile with the engine error in the log and a build.failed event', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const commit = repo.commit({ Dockerfile: `FROM ${BASE}\nRUN exit 3\n` }, 'broken');
    const pushed = await githubPush(server.url, hook, secret, 'refs/heads/main', commit);
    const done = await finished(pushed.body.queued[0]!);
    assert.equal(done.state, 'failed');
    const log = (await build(done.id)).log ?? '';
    assert.match(log, /ERROR: .*returned a non-zero code: 3/);
    await waitUntil(async () => {
      const audit = (
        await call(server.url, 'GET', `/api/v1/audit?action=build.fail`, undefined, ADMIN)
      ).body as {
        entries: { detail: { build: number } }[];
      };
      return audit.entries.some((e) => e.detail.build === done.id);
    }, 'build.failed on the events backbone');
  });

  it('builds only the newest of two quick commits, and cancel stops a running build', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const slow = (text: string) => ({
      Dockerfile: `FROM ${BASE}\nRUN sleep 4\nCOPY message.txt /message.txt\nCMD ["cat", "/message.txt"]\n`,
      'message.txt': `${text}\n`,
    });
    const older = repo.commit(slow('older'), 'older');
    const a = await githubPush(server.url, hook, secret, 'refs/heads/main', older);
    const newer = repo.commit(slow('newer'), 'newer');
    const b = await githubPush(server.url, hook, secret, 'refs/heads/main', newer);
    const first = await finished(a.body.queued[0]!);
    const second = await finished(b.body.queued[0]!);
    assert.equal(first.state, 'cancelled', 'the older commit is superseded');
    assert.equal(second.state, 'succeeded', second.error ?? '');
    engine.docker(['pull', `${server.host}/alice/app:latest`]);
    assert.equal(
      engine.docker(['run', '--rm', '--network', 'none', `${server.host}/alice/app:latest`]).trim(),
      'newer',
    );

    repo.commit({ Dockerfile: `FROM ${BASE}\nRUN sleep 60\n` }, 'very slow');
    const now = (
      await call(server.url, 'POST', '/api/v1/repositories/alice/app/_build/trigger', {
        ref: 'main',
      })
    ).body as Build[];
    await waitUntil(
      async () => (await build(now[0]!.id)).state === 'running',
      'the slow build to start',
    );
    // The log streams live (Server-Sent Events) until the build ends.
    const stream = await fetch(`${server.url}/api/v1/builds/${now[0]!.id}/log`, {
      headers: { authorization: ALICE },
    });
    assert.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = '';
    while (!/RUN sleep 60/.test(seen)) seen += (await reader.read()).value ?? '';
    const cancelled = await call(server.url, 'POST', `/api/v1/builds/${now[0]!.id}/cancel`);
    assert.equal(cancelled.status, 200);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    assert.match(seen, /data: .*cancelled: cancelled/);
    assert.match(seen, /event: end/);
    const stopped = await finished(now[0]!.id, 'the cancel to stop it');
    assert.equal(stopped.state, 'cancelled');
  });

  it('builds again when its base image in Berth gets a new digest (opt-in)', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const base = `${server.host}/alice/base:1`;
    engine.docker(['tag', BASE, base]);
    engine.docker(['push', base]);
    const based = git.repository('based');
    based.commit({ Dockerfile: `FROM ${base}\nCMD ["echo", "on the base"]\n` }, 'uses the base');
    assert.equal(
      (await call(server.url, 'POST', '/api/v1/repositories', { name: 'alice/based' })).status,
      201,
    );
    const linked = await call(server.url, 'PUT', '/api/v1/repositories/alice/based/_build', {
      source: based.url,
      rules: [{ sourceType: 'branch', source: 'main', tag: 'latest' }],
      rebuildOnBase: true,
    });
    assert.equal(linked.status, 200);
    const first = (
      await call(server.url, 'POST', '/api/v1/repositories/alice/based/_build/trigger', {
        ref: 'main',
      })
    ).body as Build[];
    assert.equal((await finished(first[0]!.id)).state, 'succeeded');
    engine.docker([
      'build',
      '-q',
      '-t',
      base,
      derivedContext(base, ['RUN echo patched > /patched']),
    ]);
    engine.docker(['push', base]);
    await waitUntil(
      async () => {
        const builds = (await call(server.url, 'GET', '/api/v1/repositories/alice/based/_builds'))
          .body as Build[];
        return builds.some((b) => b.trigger === 'base' && b.state === 'succeeded');
      },
      'a rebuild on the new base',
      120_000,
    );
  });

  it('fetches an ssh:// source with a deploy key it made, whose public half the server trusts', async (t) => {
    if (!needTools(t, ...TOOLS, 'sshd', 'ssh')) return;
    const sshd = await startSshd();
    try {
      const overSsh = git.repository('over-ssh');
      overSsh.commit({ Dockerfile: `FROM ${BASE}\nCMD ["echo", "fetched over ssh"]\n` }, 'ssh');
      assert.equal(
        (await call(server.url, 'POST', '/api/v1/repositories', { name: 'alice/ssh' })).status,
        201,
      );
      const url = `ssh://root@127.0.0.1:${sshd.port}${path.join(git.root, 'over-ssh.git')}`;
      const linked = await call(server.url, 'PUT', '/api/v1/repositories/alice/ssh/_build', {
        source: url,
        deployKey: true,
        rules: [{ sourceType: 'branch', source: 'main', tag: 'latest' }],
      });
      assert.equal(linked.status, 200, JSON.stringify(linked.body));
      const key = (linked.body as { config: { deployKey: string } }).config.deployKey;
      assert.match(key, /^ssh-ed25519 \S+ berth deploy key for alice\/ssh$/);
      const refused = await call(
        server.url,
        'POST',
        '/api/v1/repositories/alice/ssh/_build/trigger',
        { ref: 'main' },
      );
      assert.equal(refused.status, 400, 'not yet trusted upstream');
      sshd.authorize(key);
      const now = (
        await call(server.url, 'POST', '/api/v1/repositories/alice/ssh/_build/trigger', {
          ref: 'main',
        })
      ).body as Build[];
      const done = await finished(now[0]!.id);
      assert.equal(done.state, 'succeeded', done.error ?? '');
      engine.docker(['pull', `${server.host}/alice/ssh:latest`]);
      assert.equal(
        engine
          .docker(['run', '--rm', '--network', 'none', `${server.host}/alice/ssh:latest`])
          .trim(),
        'fetched over ssh',
      );
    } finally {
      await sshd.stop();
    }
  });

  it('finds a commit by polling, and re-queues once a build cut off by kill -9', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const polled = git.repository('polled');
    polled.commit({ Dockerfile: `FROM ${BASE}\nCMD ["echo", "polled v1"]\n` }, 'one');
    assert.equal(
      (await call(server.url, 'POST', '/api/v1/repositories', { name: 'alice/polled' })).status,
      201,
    );
    const linked = await call(server.url, 'PUT', '/api/v1/repositories/alice/polled/_build', {
      source: polled.url,
      rules: [{ sourceType: 'branch', source: 'main', tag: 'latest' }],
      pollSeconds: 10,
    });
    assert.equal(linked.status, 200);
    // The first look notes where main is; a commit after it is built without any webhook.
    await waitUntil(
      async () =>
        (
          (await call(server.url, 'GET', '/api/v1/repositories/alice/polled/_build')).body as {
            polledAt: string | null;
          }
        ).polledAt !== null,
      'the first look at the polled source',
      120_000,
    );
    const second = polled.commit(
      { Dockerfile: `FROM ${BASE}\nRUN sleep 6\nCMD ["echo", "polled v2"]\n` },
      'two',
    );
    let found: Build | undefined;
    await waitUntil(
      async () => {
        const builds = (await call(server.url, 'GET', '/api/v1/repositories/alice/polled/_builds'))
          .body as Build[];
        found = builds.find((b) => b.commit === second && b.trigger === 'poll');
        return found?.state === 'running';
      },
      'the polled commit to be building',
      120_000,
    );

    await server.kill();
    server = await start();
    engine.docker(['login', '-u', 'alice', '--password-stdin', server.host], {
      input: 'alice-password-1',
    });
    await waitUntil(
      async () => {
        const builds = (await call(server.url, 'GET', '/api/v1/repositories/alice/polled/_builds'))
          .body as Build[];
        return builds.some((b) => b.trigger === 'requeue' && b.state === 'succeeded');
      },
      'the interrupted build to be built again',
      180_000,
    );
    const builds = (await call(server.url, 'GET', '/api/v1/repositories/alice/polled/_builds'))
      .body as Build[];
    assert.equal((await build(found!.id)).state, 'interrupted');
    assert.equal(builds.filter((b) => b.trigger === 'requeue').length, 1, 'queued again once');
    engine.docker(['pull', `${server.host}/alice/polled:latest`]);
    assert.equal(
      engine
        .docker(['run', '--rm', '--network', 'none', `${server.host}/alice/polled:latest`])
        .trim(),
      'polled v2',
    );
  });
});
