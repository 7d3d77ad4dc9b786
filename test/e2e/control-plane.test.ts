/**
 * The control plane over real Docker engines: three dockerd instances as nodes in network
 * namespaces made by the test, each with a `berth agent` joined by token over TLS. An image pushed
 * with the docker CLI runs on node 2 and its logs are read back; an unsigned image is refused under
 * the signed-only policy and runs once `docker trust sign` signs it; the digest checked is the one
 * that runs, whatever the tag says afterwards; a killed agent's node goes down and comes back; a
 * rotated or expired join token is refused; a team with view only cannot run; a Swarm service from
 * a Berth image runs across two nodes and scales from 1 to 2; everything is audited.
 */
import assert from 'node:assert/strict';
import { signedInPage } from '../helpers/browser.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { busyboxContext, derivedContext } from '../helpers/dockerd.js';
import { NODE_TOOLS, startEngineNodes, type NodeNetwork } from '../helpers/engine-nodes.js';
import { basic, httpsCall } from '../helpers/https-call.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { attempt, needTools, run, skipUnlessTools } from '../helpers/tools.js';
import { waitUntil } from '../helpers/wait.js';

const TOOLS = [...NODE_TOOLS, 'busybox', 'notary'];
const ADMIN_PASSWORD = 'cluster-admin-password';
const PASSWORD = 'cluster-user-password';

interface NodeView {
  name: string;
  status: string;
  availability: string;
  engine: { version?: string; os?: string; swarm?: { role: string | null } };
  labels: Record<string, string>;
}

interface ContainerView {
  id: string;
  node: string;
  state: string;
  names: string[];
  berth: { repository: string; tag: string | null; digest: string; signed: boolean } | null;
}

describe('control plane over Docker engines', { skip: skipUnlessTools(TOOLS) }, () => {
  let dir: string;
  let berth: SpawnedBerth;
  let network: NodeNetwork;
  let ca: string;
  let certFile: string;
  let host: string;
  const agents = new Map<string, ChildProcess>();
  let joinToken: string;

  const api = async (who: string, method: string, apiPath: string, body?: unknown) => {
    const res = await httpsCall(`https://${host}${apiPath}`, ca, {
      method,
      headers: {
        authorization: basic(who, who === 'admin' ? ADMIN_PASSWORD : PASSWORD),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { ...res, json: <T>() => JSON.parse(res.body) as T };
  };
  const ok = async (status: number, call: Promise<{ status: number; body: string }>) => {
    const res = await call;
    assert.equal(res.status, status, res.body);
    return res;
  };
  const nodes = async () => (await api('admin', 'GET', '/api/v1/cluster/nodes')).json<NodeView[]>();
  const statusOf = async (name: string) => (await nodes()).find((n) => n.name === name)?.status;
  const startAgent = (i: number, token?: string, as?: string) => {
    const node = network.nodes[i - 1]!;
    const name = as ?? node.name;
    const child = spawn(
      process.execPath,
      [
        BERTH_BIN,
        'agent',
        '--controller',
        `https://${host}`,
        '--ca-file',
        certFile,
        '--name',
        name,
        '--label',
        `zone=z${i}`,
        '--state',
        path.join(dir, `agent-${name}`),
        '--docker-host',
        node.dockerHost,
        ...(token ? ['--join-token', token] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    (child as ChildProcess & { log: () => string }).log = () => log;
    agents.set(name, child);
    return child as ChildProcess & { log: () => string };
  };
  const stopAgent = async (name: string, signal: NodeJS.Signals = 'SIGTERM') => {
    const child = agents.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await new Promise((r) => child.once('exit', r));
  };

  before(async () => {
    dir = tempDir('cluster');
    certFile = path.join(dir, 'tls.crt');
    const keyFile = path.join(dir, 'tls.key');
    run(process.execPath, [BERTH_BIN, 'tls', 'self-signed', '--cert', certFile, '--key', keyFile]);
    ca = readFileSync(certFile, 'utf8');
    berth = await spawnBerth({
      auth: 'token',
      adminPassword: ADMIN_PASSWORD,
      args: ['--tls-cert', certFile, '--tls-key', keyFile],
      // Heartbeats every second; a node is down after ten without one (far from a step's time).
      env: {
        BERTH_CLUSTER_HEARTBEAT: '1',
        BERTH_CLUSTER_DOWN_AFTER: '10',
        BERTH_CLUSTER_SNAPSHOT: '3',
      },
    });
    host = berth.host;
    network = await startEngineNodes(3, Number(host.split(':')[1]));
    for (const name of ['alice', 'bob'])
      await ok(201, api('admin', 'POST', '/api/v1/users', { name, password: PASSWORD }));
    await ok(201, api('admin', 'POST', '/api/v1/orgs', { name: 'acme' }));
    for (const [team, member] of [
      ['deployers', 'alice'],
      ['viewers', 'bob'],
    ] as const) {
      await ok(201, api('admin', 'POST', '/api/v1/orgs/acme/teams', { name: team }));
      const added = await api('admin', 'PUT', `/api/v1/orgs/acme/teams/${team}/members/${member}`);
      assert.ok(added.status < 300, added.body);
    }
    await ok(204, api('admin', 'PUT', '/api/v1/cluster/collections/all', { nodeLabels: {} }));
    await ok(
      204,
      api('admin', 'PUT', '/api/v1/cluster/collections/all/grants', {
        team: 'acme/deployers',
        level: 'full',
      }),
    );
    await ok(
      204,
      api('admin', 'PUT', '/api/v1/cluster/collections/all/grants', {
        team: 'acme/viewers',
        level: 'view',
      }),
    );
    // The cluster CA (and the X.509 library that makes it) waits for the control plane's first
    // need: none after a first start and all the set-up above, one after the first join token.
    const caRows = (): number => {
      const db = new Database(path.join(berth.data, 'berth.db'), { readonly: true });
      try {
        return (db.prepare('select count(*) as n from cluster_ca').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    assert.equal(caRows(), 0);
    joinToken = (await api('admin', 'GET', '/api/v1/cluster/join-token')).json<{ token: string }>()
      .token;
    assert.equal(caRows(), 1);
    for (let i = 1; i <= 3; i++) startAgent(i, joinToken);
    await waitUntil(
      async () => (await nodes()).filter((n) => n.status === 'ready').length === 3,
      'three ready nodes',
      120_000,
    );
    // The image, built and pushed with the docker CLI on node 1's engine.
    const builder = network.nodes[0]!;
    builder.docker(['build', '-q', '-t', 'local/busybox:1', busyboxContext()]);
    builder.docker(['login', '-u', 'alice', '--password-stdin', host], { input: PASSWORD });
    builder.docker(['tag', 'local/busybox:1', `${host}/alice/hello:1`]);
    builder.docker(['push', `${host}/alice/hello:1`]);
  });

  after(async () => {
    for (const name of agents.keys()) await stopAgent(name);
    await network?.stop();
    await berth?.stop();
    if (berth) removeDir(berth.data);
    if (dir) removeDir(dir);
  });

  it('joins nodes by token over TLS and shows each ready with its engine', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const listed = await nodes();
    assert.deepEqual(
      listed.map((n) => `${n.name}:${n.status}:${n.labels.zone}`),
      ['node-1:ready:z1', 'node-2:ready:z2', 'node-3:ready:z3'],
    );
    for (const n of listed) {
      assert.match(n.engine.version ?? '', /^\d+\.\d+/);
      assert.ok(n.engine.os);
    }
    // The agent's state (its private key) is readable by its user only.
    const mode = spawnSync('stat', ['-c', '%a', path.join(dir, 'agent-node-1', 'node.json')], {
      encoding: 'utf8',
    }).stdout.trim();
    assert.equal(mode, '600');
  });

  it('runs an image pushed with the docker CLI on node 2 and reads its logs back', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const made = await ok(
      201,
      api('alice', 'POST', '/api/v1/cluster/containers', {
        image: 'alice/hello:1',
        node: 'node-2',
        name: 'hello',
        network: 'none',
        command: ['sh', '-c', 'echo hello from the control plane; sleep 600'],
      }),
    );
    const result = JSON.parse(made.body) as { node: string; id: string; image: string };
    assert.equal(result.node, 'node-2');
    assert.match(result.image, new RegExp(`^${host}/alice/hello@sha256:[0-9a-f]{64}$`));
    let seen: ContainerView | undefined;
    await waitUntil(async () => {
      const list = (await api('bob', 'GET', '/api/v1/cluster/containers?node=node-2')).json<
        ContainerView[]
      >();
      seen = list.find((c) => c.id === result.id && c.state === 'running');
      return seen !== undefined;
    }, 'the container in the inventory, seen by a viewer');
    assert.equal(seen!.berth?.repository, 'alice/hello');
    assert.equal(seen!.berth?.tag, '1');
    assert.equal(seen!.berth?.signed, false);
    await waitUntil(async () => {
      const logs = await api('alice', 'GET', `/api/v1/cluster/containers/node-2/${result.id}/logs`);
      return logs.status === 200 && logs.body.includes('hello from the control plane');
    }, 'the logs read back');
    // The command line reads them too, through the server's API.
    const cli = attempt(
      process.execPath,
      [
        BERTH_BIN,
        'container',
        'logs',
        'hello',
        '--node',
        'node-2',
        '--server',
        `https://${host}`,
        '--ca-file',
        certFile,
      ],
      { env: { ...process.env, BERTH_USER: 'alice', BERTH_PASSWORD: PASSWORD } },
    );
    assert.equal(cli.status, 0, cli.output);
    assert.match(cli.output, /hello from the control plane/);
    // Followed live: a line the container writes now arrives on the open stream.
    const followed = await new Promise<string>((resolve, reject) => {
      const req = request(
        `https://${host}/api/v1/cluster/containers/node-2/${result.id}/logs?follow=true&tail=1`,
        { ca, headers: { authorization: basic('alice', PASSWORD) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
            if (text.includes('hello from the control plane')) {
              req.destroy();
              resolve(text);
            }
          });
          res.on('error', () => undefined);
        },
      );
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    assert.match(followed, /hello from the control plane/);
    const stats = await ok(
      200,
      api('alice', 'GET', `/api/v1/cluster/containers/node-2/${result.id}/stats`),
    );
    assert.equal(typeof (JSON.parse(stats.body) as { memoryBytes: number }).memoryBytes, 'number');
    // A viewer sees it but may not run or stop anything.
    const bobRun = await api('bob', 'POST', '/api/v1/cluster/containers', {
      image: 'alice/hello:1',
      node: 'node-2',
    });
    assert.equal(bobRun.status, 403, bobRun.body);
    const bobStop = await api('bob', 'POST', `/api/v1/cluster/containers/node-2/${result.id}/stop`);
    assert.equal(bobStop.status, 403, bobStop.body);
    await ok(204, api('alice', 'DELETE', `/api/v1/cluster/containers/node-2/${result.id}`));
  });

  it('refuses an unsigned image under the signed-only policy, and runs it once docker trust signs it', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await ok(
      204,
      api('admin', 'PUT', '/api/v1/cluster/policies/namespace:alice', { signedOnly: true }),
    );
    const refused = await api('alice', 'POST', '/api/v1/cluster/containers', {
      image: 'alice/hello:1',
      node: 'node-3',
      network: 'none',
      command: ['sleep', '600'],
    });
    assert.equal(refused.status, 403, refused.body);
    assert.match(
      refused.body,
      /alice\/hello:1 is not signed \(namespace:alice runs only signed images\)/,
    );
    const builder = network.nodes[0]!;
    const signed = attempt('docker', ['trust', 'sign', `${host}/alice/hello:1`], {
      env: {
        ...builder.env,
        DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root-passphrase',
        DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'repo-passphrase',
      },
    });
    assert.equal(signed.status, 0, signed.output);
    const ran = await ok(
      201,
      api('alice', 'POST', '/api/v1/cluster/containers', {
        image: 'alice/hello:1',
        node: 'node-3',
        network: 'none',
        command: ['sleep', '600'],
      }),
    );
    const decision = (JSON.parse(ran.body) as { decision: { signed: boolean; policies: string[] } })
      .decision;
    assert.equal(decision.signed, true);
    assert.deepEqual(decision.policies, ['namespace:alice']);
    await ok(204, api('admin', 'DELETE', '/api/v1/cluster/policies/namespace:alice'));
    // Only images from Berth on the nodes of a collection: an image from elsewhere is refused.
    await ok(
      204,
      api('admin', 'PUT', '/api/v1/cluster/policies/collection:all', { berthOnly: true }),
    );
    const foreign = await api('alice', 'POST', '/api/v1/cluster/containers', {
      image: 'registry.example.com/library/busybox:1',
      node: 'node-3',
    });
    assert.equal(foreign.status, 403, foreign.body);
    assert.match(foreign.body, /not from Berth, and collection:all runs only images from Berth/);
    await ok(204, api('admin', 'DELETE', '/api/v1/cluster/policies/collection:all'));
  });

  it('pins the digest it checked: the tag moved afterwards is not what runs', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const ran = await ok(
      201,
      api('alice', 'POST', '/api/v1/cluster/containers', {
        image: 'alice/hello:1',
        node: 'node-2',
        network: 'none',
        command: ['sleep', '600'],
      }),
    );
    const { id, image } = JSON.parse(ran.body) as { id: string; image: string };
    // The tag moves to another image right after the check.
    const builder = network.nodes[0]!;
    builder.docker([
      'build',
      '-q',
      '-t',
      `${host}/alice/hello:1`,
      derivedContext('local/busybox:1', ['RUN echo moved > /moved']),
    ]);
    builder.docker(['push', `${host}/alice/hello:1`]);
    const now = await api('alice', 'POST', '/api/v1/cluster/admission', { image: 'alice/hello:1' });
    const moved = now.json<{ digest: string }>().digest;
    assert.notEqual(`${host}/alice/hello@${moved}`, image, 'the tag now names another digest');
    const inspected = network.nodes[1]!.docker(['inspect', '--format', '{{.Config.Image}}', id]);
    assert.equal(inspected.trim(), image, 'node 2 runs the digest that was checked');
  });

  it('shows nodes and containers in Chromium, and runs a container from the form', async (t) => {
    if (!needTools(t, ...TOOLS, 'chromium')) return;
    const { page, close } = await signedInPage(`https://${host}`, 'alice', PASSWORD, {
      ignoreHTTPSErrors: true,
    });
    try {
      await page.getByRole('link', { name: 'Cluster' }).click();
      const nodesTable = page.getByRole('table', { name: 'Nodes' });
      for (const name of ['node-1', 'node-2'])
        await nodesTable.getByRole('row', { name: new RegExp(`${name} ready`) }).waitFor();
      const form = page.getByRole('form', { name: 'Run a container' });
      await form.getByLabel('Image').fill('alice/hello:1');
      await form.getByLabel('Node').fill('node-1');
      await form.getByLabel('Name').fill('from-the-browser');
      await form.getByLabel('Command').fill('sleep 600');
      await form.getByLabel('Network').fill('none');
      await form.getByRole('button', { name: 'Run' }).click();
      await form.getByRole('status').filter({ hasText: 'Running on node-1' }).waitFor();
      const row = page
        .getByRole('table', { name: 'Containers' })
        .getByRole('row', { name: /from-the-browser/ });
      await row.getByText('alice/hello:1').waitFor();
      await row.getByRole('button', { name: 'Logs' }).click();
      await page.getByLabel('Container logs').filter({ hasText: 'from-the-browser' }).waitFor();
    } finally {
      await close();
    }
  });

  it('shows a node down when its agent is killed, and ready when it comes back', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await stopAgent('node-3', 'SIGKILL');
    await waitUntil(async () => (await statusOf('node-3')) === 'down', 'node-3 down', 60_000);
    const refused = await api('alice', 'POST', '/api/v1/cluster/containers', {
      image: 'alice/hello:1',
      node: 'node-3',
    });
    assert.equal(refused.status, 503, refused.body);
    startAgent(3); // its key and certificate are kept: no token this time
    await waitUntil(
      async () => (await statusOf('node-3')) === 'ready',
      'node-3 ready again',
      60_000,
    );
  });

  it('refuses a rotated or expired join token, and a removed node', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const rotated = (await ok(200, api('admin', 'POST', '/api/v1/cluster/join-token/rotate'))).body;
    const fresh = (JSON.parse(rotated) as { token: string }).token;
    assert.notEqual(fresh, joinToken);
    const key = spawnSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], {
      encoding: 'utf8',
    }).stdout;
    const publicKey = spawnSync('openssl', ['ec', '-pubout'], {
      input: key,
      encoding: 'utf8',
    }).stdout;
    const join = (token: string, name: string) =>
      httpsCall(`https://${host}/api/v1/cluster/join`, ca, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, name, publicKey }),
      });
    const old = await join(joinToken, 'intruder');
    assert.equal(old.status, 403);
    assert.match(old.body, /rotated/);
    // Expired: the token's time is up (moved in the database rather than waited for).
    const db = new Database(path.join(berth.data, 'berth.db'));
    try {
      db.prepare('update cluster_join_tokens set expires_at = 1').run();
    } finally {
      db.close();
    }
    const expired = await join(fresh, 'intruder');
    assert.equal(expired.status, 403);
    assert.match(expired.body, /expired/);
    const forged = await join(`bjt1.${'0'.repeat(16)}.00000000.${'A'.repeat(43)}`, 'intruder');
    assert.equal(forged.status, 403);
    // An agent given the old token says why and stops.
    const late = startAgent(3, joinToken, 'late');
    const lateCode = await new Promise<number | null>((r) => late.once('exit', (c) => r(c)));
    assert.notEqual(lateCode, 0);
    assert.match(late.log(), /rotated/);
    // A removed node's agent is disconnected and refused.
    await ok(204, api('admin', 'DELETE', '/api/v1/cluster/nodes/node-3?revoke=true'));
    assert.equal(await statusOf('node-3'), 'revoked');
    const again = startAgent(3);
    const code = await new Promise<number | null>((r) => again.once('exit', (c) => r(c)));
    assert.notEqual(code, 0);
    assert.match(again.log(), /refused this node|closed this node/);
  });

  it('deploys a Swarm service from a Berth image across two nodes and scales it from 1 to 2', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const [one, two] = network.nodes;
    one!.docker(['swarm', 'init', '--advertise-addr', one!.address]);
    const token = one!.docker(['swarm', 'join-token', '-q', 'worker']).trim();
    two!.docker([
      'swarm',
      'join',
      '--token',
      token,
      '--advertise-addr',
      two!.address,
      `${one!.address}:2377`,
    ]);
    await waitUntil(
      async () =>
        (await nodes()).find((n) => n.name === 'node-1')?.engine.swarm?.role === 'manager',
      'node-1 known as a Swarm manager',
    );
    await ok(
      201,
      api('alice', 'POST', '/api/v1/cluster/services', {
        image: 'alice/hello:1',
        name: 'sleeper',
        replicas: 1,
        command: ['sleep', '600'],
      }),
    );
    type Service = { name: string; running: number; tasks: { node: string; state: string }[] };
    const service = async () =>
      (await api('alice', 'GET', '/api/v1/cluster/services'))
        .json<Service[]>()
        .find((s) => s.name === 'sleeper');
    await waitUntil(async () => (await service())?.running === 1, 'one task running', 120_000);
    await ok(200, api('alice', 'POST', '/api/v1/cluster/services/sleeper/scale', { replicas: 2 }));
    await waitUntil(async () => (await service())?.running === 2, 'two tasks running', 120_000);
    const placed = new Set(
      (await service())!.tasks.filter((x) => x.state === 'running').map((x) => x.node),
    );
    assert.equal(placed.size, 2, `tasks on two nodes: ${[...placed].join(', ')}`);
  });

  it('audits every action on the events backbone, refusals included', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    await waitUntil(async () => {
      const audit = (await api('admin', 'GET', '/api/v1/audit?action=cluster&n=500')).json<{
        entries: { action: string; outcome: string; actor: string }[];
      }>();
      const seen = new Set(audit.entries.map((e) => `${e.action}:${e.outcome}`));
      return [
        'cluster.node.join:success',
        'cluster.node.join:denied',
        'cluster.container.run:success',
        'cluster.container.run:denied',
        'cluster.container.stop:denied',
        'cluster.service.create:success',
        'cluster.service.scale:success',
        'cluster.node.revoke:success',
      ].every((x) => seen.has(x));
    }, 'the cluster actions in the audit log');
  });
});
