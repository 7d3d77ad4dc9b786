/**
 * The control plane from the command line: `berth agent` (runs beside an engine), and `berth node
 * …`, `berth container …`, `berth service …`, `berth cluster …` (collections, grants, policies),
 * which call the running server's API (`--server`, BERTH_USER, BERTH_PASSWORD).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runAgent } from '../cluster/index.js';
import { printRows, say } from './directory.js';
import { callApi, remoteOf, withServerFlags } from './remote-api.js';

type Flags = Record<string, unknown> & { server?: string; caFile?: string; json?: boolean };

/** `k=v` pairs (repeatable flags) as labels. */
function labelsOf(values: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (values as string[] | undefined) ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`a label is key=value, not ${pair}`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

async function api(f: Flags, method: string, path: string, body?: unknown): Promise<unknown> {
  return callApi(remoteOf(f), method, path, body);
}

function agentCommand(program: Command): void {
  program
    .command('agent')
    .description('run beside a Docker engine and connect out to the controller')
    .requiredOption('--controller <url>', "the controller's URL (https://…)")
    .option('--join-token <token>', 'the join token (first start only; also BERTH_JOIN_TOKEN)')
    .option('--name <name>', 'the node name (default: the host name)')
    .option('--label <k=v>', 'a node label (repeatable)', collect)
    .option('--state <dir>', "where the node's key and certificate are kept", './berth-agent')
    .option('--ca-file <file>', "PEM CA of the controller's TLS certificate")
    .option('--docker-host <url>', 'the engine (default DOCKER_HOST or the local socket)')
    .action(async (f: Flags) => {
      const abort = new AbortController();
      for (const signal of ['SIGINT', 'SIGTERM'] as const)
        process.once(signal, () => abort.abort());
      const host =
        (f.dockerHost as string | undefined) ??
        process.env.DOCKER_HOST ??
        'unix:///var/run/docker.sock';
      await runAgent(
        {
          controller: String(f.controller),
          joinToken: (f.joinToken as string | undefined) ?? process.env.BERTH_JOIN_TOKEN,
          name: (f.name as string | undefined) ?? (await import('node:os')).hostname(),
          labels: labelsOf(f.label),
          stateDir: String(f.state),
          ca: f.caFile ? readFileSync(String(f.caFile), 'utf8') : undefined,
          engine: { host },
          log: (line) => process.stderr.write(`berth agent: ${line}\n`),
        },
        abort.signal,
      );
    });
}

function nodeCommands(program: Command): void {
  const node = program.command('node').description('control-plane nodes (Docker engines)');
  withServerFlags(node.command('join-token').description('print the join token'))
    .option('--rotate', 'revoke every token and make a new one', false)
    .action(async (f: Flags) => {
      const path = f.rotate ? '/api/v1/cluster/join-token/rotate' : '/api/v1/cluster/join-token';
      const t = (await api(f, f.rotate ? 'POST' : 'GET', path)) as {
        token: string;
        expiresAt: string;
      };
      say(t.token);
      process.stderr.write(`berth: good until ${t.expiresAt}\n`);
    });
  withServerFlags(node.command('ls').description('nodes and their status'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const nodes = (await api(f, 'GET', '/api/v1/cluster/nodes')) as Record<string, unknown>[];
      const rows = nodes.map((n) => ({
        ...n,
        engine: (n.engine as { version?: string }).version ?? '-',
        role: (n.engine as { swarm?: { role?: string } }).swarm?.role ?? '-',
        labels: Object.entries(n.labels as Record<string, string>)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      }));
      printRows(
        rows,
        ['name', 'status', 'availability', 'engine', 'role', 'labels'],
        Boolean(f.json),
      );
    });
  withServerFlags(node.command('inspect <name>').description('one node as JSON')).action(
    async (name: string, f: Flags) => {
      say(JSON.stringify(await api(f, 'GET', `/api/v1/cluster/nodes/${name}`), null, 2));
    },
  );
  for (const availability of ['drain', 'activate'] as const)
    withServerFlags(
      node
        .command(`${availability} <name>`)
        .description(availability === 'drain' ? 'run nothing new there' : 'undo drain'),
    ).action(async (name: string, f: Flags) => {
      await api(f, 'PATCH', `/api/v1/cluster/nodes/${name}`, {
        availability: availability === 'drain' ? 'drain' : 'active',
      });
      say(`${name}: ${availability === 'drain' ? 'drained' : 'active'}`);
    });
  withServerFlags(node.command('label <name> <k=v...>').description("set a node's labels")).action(
    async (name: string, pairs: string[], f: Flags) => {
      await api(f, 'PATCH', `/api/v1/cluster/nodes/${name}`, { labels: labelsOf(pairs) });
      say(`${name}: labels set`);
    },
  );
  withServerFlags(node.command('rm <name>').description('remove a node'))
    .option('--revoke', 'keep it listed, its certificate revoked', false)
    .action(async (name: string, f: Flags) => {
      await api(f, 'DELETE', `/api/v1/cluster/nodes/${name}${f.revoke ? '?revoke=true' : ''}`);
      say(`${name}: ${f.revoke ? 'revoked' : 'removed'}`);
    });
}

function containerCommands(program: Command): void {
  const container = program.command('container').description('containers across nodes');
  withServerFlags(container.command('run <image> [command...]').description('run on a node'))
    .option('--node <name>', 'the node (else the controller picks)')
    .option('--constraint <k=v>', 'pick among nodes with this label (repeatable)', collect)
    .option('--name <name>', 'the container name')
    .option('--label <k=v>', 'a container label (repeatable)', collect)
    .option('-e, --env <K=V>', 'an environment variable (repeatable)', collect)
    .option('--network <name>', 'the network (host, none, …)')
    .action(async (image: string, command: string[], f: Flags) => {
      const r = (await api(f, 'POST', '/api/v1/cluster/containers', {
        image,
        ...(f.node ? { node: f.node } : {}),
        ...(f.constraint ? { constraints: labelsOf(f.constraint) } : {}),
        ...(f.name ? { name: f.name } : {}),
        ...(command.length > 0 ? { command } : {}),
        ...(f.env ? { env: f.env } : {}),
        ...(f.label ? { labels: labelsOf(f.label) } : {}),
        ...(f.network ? { network: f.network } : {}),
      })) as { node: string; id: string; image: string };
      say(`${r.node} ${r.id} ${r.image}`);
    });
  withServerFlags(container.command('ls').description('containers across nodes'))
    .option('--node <name>', 'one node only')
    .option('-q, --filter <text>', 'names, image or id containing this')
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const query = new URLSearchParams();
      if (f.node) query.set('node', String(f.node));
      if (f.filter) query.set('q', String(f.filter));
      const list = (await api(f, 'GET', `/api/v1/cluster/containers?${query}`)) as (Record<
        string,
        unknown
      > & { berth: { signed: boolean } | null; names: string[]; id: string })[];
      const rows = list.map((c) => ({
        ...c,
        id: c.id.slice(0, 12),
        name: c.names[0],
        signed: c.berth ? (c.berth.signed ? 'signed' : 'unsigned') : '-',
      }));
      printRows(rows, ['node', 'id', 'name', 'image', 'state', 'signed'], Boolean(f.json));
    });
  withServerFlags(container.command('logs <id>').description("a container's logs"))
    .requiredOption('--node <name>', 'the node')
    .option('--tail <n>', 'lines from the end', '200')
    .option('-f, --follow', 'keep following', false)
    .action(async (id: string, f: Flags) => {
      const path = `/api/v1/cluster/containers/${f.node}/${id}/logs?tail=${f.tail}${f.follow ? '&follow=true' : ''}`;
      await callApi(remoteOf(f), 'GET', path, undefined, (t) => process.stdout.write(t));
    });
  for (const action of ['start', 'stop', 'restart', 'rm'] as const)
    withServerFlags(container.command(`${action} <id>`).description(`${action} a container`))
      .requiredOption('--node <name>', 'the node')
      .action(async (id: string, f: Flags) => {
        const base = `/api/v1/cluster/containers/${f.node}/${id}`;
        if (action === 'rm') await api(f, 'DELETE', base);
        else await api(f, 'POST', `${base}/${action}`);
        say(`${id}: ${action === 'rm' ? 'removed' : `${action}ed`.replace('stoped', 'stopped')}`);
      });
}

function serviceCommands(program: Command): void {
  const service = program.command('service').description('Swarm services from Berth images');
  withServerFlags(service.command('create <image> [command...]').description('deploy a service'))
    .requiredOption('--name <name>', 'the service name')
    .option('--replicas <n>', 'how many tasks', '1')
    .action(async (image: string, command: string[], f: Flags) => {
      const r = (await api(f, 'POST', '/api/v1/cluster/services', {
        image,
        name: f.name,
        replicas: Number(f.replicas),
        ...(command.length > 0 ? { command } : {}),
      })) as { id: string; image: string };
      say(`${r.id} ${r.image}`);
    });
  withServerFlags(service.command('scale <name> <replicas>').description('scale a service')).action(
    async (name: string, replicas: string, f: Flags) => {
      await api(f, 'POST', `/api/v1/cluster/services/${name}/scale`, {
        replicas: Number(replicas),
      });
      say(`${name}: ${replicas} replicas`);
    },
  );
  withServerFlags(service.command('ls').description('services and their tasks'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const list = (await api(f, 'GET', '/api/v1/cluster/services')) as Record<string, unknown>[];
      printRows(list, ['name', 'image', 'replicas', 'running', 'manager'], Boolean(f.json));
    });
}

function clusterCommands(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('collections, grants and admission policies');
  withServerFlags(cluster.command('collection <name>').description('save a collection'))
    .option('--node-label <k=v>', 'nodes with this label (repeatable)', collect)
    .option('--container-label <k=v>', 'containers with this label (repeatable)', collect)
    .action(async (name: string, f: Flags) => {
      await api(f, 'PUT', `/api/v1/cluster/collections/${name}`, {
        nodeLabels: labelsOf(f.nodeLabel),
        containerLabels: labelsOf(f.containerLabel),
      });
      say(`collection ${name} saved`);
    });
  withServerFlags(
    cluster.command('grant <collection> <team> <level>').description('view, operate, full or none'),
  ).action(async (collection: string, team: string, level: string, f: Flags) => {
    await api(f, 'PUT', `/api/v1/cluster/collections/${collection}/grants`, {
      team,
      level: level === 'none' ? null : level,
    });
    say(`${team}: ${level} on ${collection}`);
  });
  withServerFlags(
    cluster
      .command('policy <scope>')
      .description('admission policy of namespace:NAME or collection:NAME'),
  )
    .option('--signed-only', 'run only images whose tag is signed', false)
    .option('--signer <name>', 'signed by this signer too (repeatable)', collect)
    .option('--berth-only', 'run only images from Berth', false)
    .option('--remove', 'lift the policy', false)
    .action(async (scope: string, f: Flags) => {
      if (f.remove) await api(f, 'DELETE', `/api/v1/cluster/policies/${scope}`);
      else
        await api(f, 'PUT', `/api/v1/cluster/policies/${scope}`, {
          signedOnly: Boolean(f.signedOnly),
          signers: (f.signer as string[] | undefined) ?? [],
          berthOnly: Boolean(f.berthOnly),
        });
      say(`policy on ${scope} ${f.remove ? 'lifted' : 'set'}`);
    });
}

/** Adds the control-plane commands to `program`. */
export function registerClusterCommands(program: Command): void {
  agentCommand(program);
  nodeCommands(program);
  containerCommands(program);
  serviceCommands(program);
  clusterCommands(program);
}
