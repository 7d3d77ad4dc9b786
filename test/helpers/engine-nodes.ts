/**
 * Docker engines as separate nodes for control-plane tests: each in a network namespace made by
 * the test (`ip netns add`), joined to the others by veth pairs on a private bridge with its own
 * address, its dockerd entered into the namespace with `nsenter --net` (so it keeps the host's
 * cgroups and files). Berth stays bound to 127.0.0.1: inside each namespace a relay listens on
 * 127.0.0.1:PORT and carries connections over a Unix socket to the host, where they reach Berth —
 * so every node pulls from `127.0.0.1:PORT` as if Berth ran beside it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { removeDir, tempDir } from './server.js';
import { attempt } from './tools.js';

/** The tools the helper needs. */
export const NODE_TOOLS = ['ip', 'nsenter', 'dockerd', 'docker'];

/** One engine node. */
export interface EngineNode {
  name: string;
  /** Its address on the private network (Swarm advertises it). */
  address: string;
  /** `unix://…` of its engine. */
  dockerHost: string;
  env: NodeJS.ProcessEnv;
  docker(args: string[], options?: { input?: string }): string;
  attempt(args: string[], options?: { input?: string }): { status: number; output: string };
}

/** A set of nodes and a way to take them all down. */
export interface NodeNetwork {
  nodes: EngineNode[];
  stop(): Promise<void>;
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

// A relay process: listens on `from` and carries each connection to `to` (each `tcp:PORT` on
// 127.0.0.1 or `unix:PATH`). A process of its own, so the tests' blocking calls never stall it.
const RELAY = `
const net = require('node:net');
const [from, to] = process.argv.slice(1);
const at = (spec) => spec.startsWith('unix:') ? [spec.slice(5)] : [Number(spec.slice(4)), '127.0.0.1'];
net.createServer((c) => {
  const up = net.connect(...at(to));
  c.pipe(up).pipe(c);
  c.on('error', () => up.destroy());
  up.on('error', () => c.destroy());
}).listen(...at(from), () => process.stdout.write('ready\\n'));
`;

/** Starts a relay (inside network namespace `ns` when given); resolves once it listens. */
async function startRelay(from: string, to: string, ns?: string): Promise<ChildProcess> {
  const args = [process.execPath, '-e', RELAY, from, to];
  const relay = ns
    ? spawn('nsenter', [`--net=/run/netns/${ns}`, ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    relay.stdout!.once('data', () => resolve());
    relay.once('exit', (code) => reject(new Error(`a relay exited (${code})`)));
  });
  return relay;
}

/** Unmounts everything dockerd left mounted under `dir` (deepest first). */
function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
}

/**
 * Starts `count` engine nodes; each reaches Berth's `registryPort` on its own 127.0.0.1. Returns
 * once every engine answers.
 */
export async function startEngineNodes(count: number, registryPort: number): Promise<NodeNetwork> {
  const id = `b${process.pid % 100000}`;
  const subnet = `10.${200 + (process.pid % 50)}.${Math.floor(process.pid / 50) % 250}`;
  const dir = tempDir('nodes');
  const bridge = `${id}br`;
  const children: ChildProcess[] = [];
  const namespaces: string[] = [];
  // The host side of the relays: a Unix socket that forwards to Berth on 127.0.0.1.
  const relaySocket = path.join(dir, 'registry.sock');
  const stop = async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    unmountUnder(dir);
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    removeDir(dir);
  };
  try {
    children.push(await startRelay(`unix:${relaySocket}`, `tcp:${registryPort}`));
    sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
    sh('ip', ['link', 'set', bridge, 'up']);
    const nodes: EngineNode[] = [];
    for (let i = 1; i <= count; i++) {
      const ns = `${id}n${i}`;
      const veth = `${id}v${i}`;
      const address = `${subnet}.${i + 1}`;
      sh('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
      sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['link', 'set', veth, 'master', bridge, 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const enter = ['--net=/run/netns/' + ns];
      children.push(await startRelay(`tcp:${registryPort}`, `unix:${relaySocket}`, ns));
      const home = path.join(dir, `node${i}`);
      const socket = path.join(home, 'docker.sock');
      const engine = spawn(
        'nsenter',
        [
          ...enter,
          'dockerd',
          '--storage-driver=vfs',
          '--iptables=false',
          '--ip6tables=false',
          '--bridge=none',
          `--data-root=${home}/root`,
          `--exec-root=${home}/exec`,
          `--pidfile=${home}/pid`,
          '-H',
          `unix://${socket}`,
        ],
        { stdio: ['ignore', 'ignore', 'ignore'] },
      );
      children.push(engine);
      const env = {
        ...process.env,
        DOCKER_HOST: `unix://${socket}`,
        DOCKER_CONFIG: path.join(home, 'cli'),
        DOCKER_BUILDKIT: '0',
      };
      const node: EngineNode = {
        name: `node-${i}`,
        address,
        dockerHost: `unix://${socket}`,
        env,
        attempt: (args, options = {}) => attempt('docker', args, { env, input: options.input }),
        docker: (args, options = {}) => {
          const r = attempt('docker', args, { env, input: options.input });
          if (r.status !== 0) throw new Error(`docker ${args.join(' ')} on node-${i}: ${r.output}`);
          return r.output;
        },
      };
      nodes.push(node);
    }
    for (const node of nodes)
      for (let tries = 0; ; tries++) {
        if (node.attempt(['info']).status === 0) break;
        if (tries > 240) throw new Error(`the engine of ${node.name} did not start`);
        await new Promise((r) => setTimeout(r, 250));
      }
    return { nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
