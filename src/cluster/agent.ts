/**
 * `berth agent`: runs beside a Docker engine and connects out to the controller (no port opens on
 * the node). At first start it joins with a token: it makes its own key pair, sends the public key
 * and is given a certificate signed by the cluster CA (checked against the fingerprint the token
 * carries); later starts reuse the key and certificate kept in its state folder (mode 0600). Over
 * one WebSocket it sends heartbeats and inventory snapshots (on a timer and after each engine
 * event), and does what the controller asks; it reconnects with backoff when the link drops.
 */
import { createHash, generateKeyPairSync, createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { openEngine, type EngineAddress } from '../builds/index.js';
import {
  containerAction,
  containerLogs,
  containerStats,
  createService,
  describeEngine,
  EngineError,
  runContainer,
  scaleService,
  takeSnapshot,
} from './engine-ops.js';
import { parseJoinToken } from './join-tokens.js';
import { nodeProof } from './node-auth.js';
import type { ControllerMessage, EngineInfo, RunArgs, ServiceArgs } from './protocol.js';

/** How an agent is started. */
export interface AgentOptions {
  /** The controller's base URL (`https://berth.example.com`). */
  controller: string;
  joinToken?: string;
  name: string;
  labels: Record<string, string>;
  /** Where the node's key, certificate and id are kept. */
  stateDir: string;
  /** PEM CA certificates the controller's TLS certificate is checked against. */
  ca?: string;
  engine: EngineAddress;
  log(line: string): void;
}

/** What a joined node keeps. */
interface NodeState {
  id: string;
  name: string;
  key: string;
  certificate: string;
  ca: string;
}

/** Writes `text` to `file` atomically, readable by this user only. */
function writePrivate(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

function loadState(dir: string): NodeState | undefined {
  const file = path.join(dir, 'node.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as NodeState;
}

/** POSTs JSON to the controller; the parsed answer, or throws with its message. */
function postJson(url: URL, body: unknown, ca: string | undefined): Promise<unknown> {
  const payload = Buffer.from(JSON.stringify(body));
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
        ...(ca ? { ca } : {}),
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: { errors?: { message?: string }[] } | undefined;
          try {
            parsed = JSON.parse(text) as typeof parsed;
          } catch {
            parsed = undefined;
          }
          if ((res.statusCode ?? 500) >= 300)
            reject(
              new Error(parsed?.errors?.[0]?.message ?? `${res.statusCode} ${text.slice(0, 200)}`),
            );
          else resolve(parsed);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('the controller did not answer')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Joins the cluster with `options.joinToken`; the node's state, saved. */
async function join(options: AgentOptions): Promise<NodeState> {
  const token = options.joinToken;
  if (!token) throw new Error(`not joined yet: give --join-token (state: ${options.stateDir})`);
  const parts = parseJoinToken(token);
  if (!parts) throw new Error('that is not a join token (bjt1.…)');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const answer = (await postJson(
    new URL('/api/v1/cluster/join', options.controller),
    {
      token,
      name: options.name,
      labels: options.labels,
      publicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    },
    options.ca,
  )) as { id: string; certificate: string; ca: string };
  const fingerprint = createHash('sha256').update(new X509Certificate(answer.ca).raw).digest('hex');
  if (!fingerprint.startsWith(parts.fingerprint))
    throw new Error('the controller handed over a CA other than the join token names: refusing');
  const state: NodeState = {
    id: answer.id,
    name: options.name,
    key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    certificate: answer.certificate,
    ca: answer.ca,
  };
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  writePrivate(path.join(options.stateDir, 'node.json'), JSON.stringify(state, null, 2));
  return state;
}

/** Runs the agent until `signal` aborts; rejects when the controller removes or revokes it. */
export async function runAgent(options: AgentOptions, signal: AbortSignal): Promise<void> {
  const state = loadState(options.stateDir) ?? (await join(options));
  options.log(`node ${state.name} (${state.id}) → ${options.controller}`);
  const docker = await openEngine(options.engine);
  const localEngine = options.engine.host.startsWith('unix://');
  let backoff = 1_000;
  for (;;) {
    if (signal.aborted) return;
    const closed = await connectOnce(options, state, docker, localEngine, signal);
    if (signal.aborted) return;
    if (closed.code === 4001) throw new Error(`the controller closed this node: ${closed.reason}`);
    if (closed.code === 4003) throw new Error(`the controller refused this node: ${closed.reason}`);
    if (closed.opened) backoff = 1_000;
    options.log(`disconnected (${closed.code} ${closed.reason}); again in ${backoff / 1000} s`);
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 15_000);
  }
}

/** One connection, until it closes. */
async function connectOnce(
  options: AgentOptions,
  state: NodeState,
  docker: Docker,
  localEngine: boolean,
  signal: AbortSignal,
): Promise<{ code: number; reason: string; opened: boolean }> {
  const url = new URL('/api/v1/cluster/agent', options.controller);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const proof = await nodeProof(state.id, createPrivateKey(state.key));
  // Loaded here, not with the command line: only an agent needs a WebSocket client.
  const { default: WebSocket } = await import('ws');
  const socket = new WebSocket(url, {
    headers: {
      authorization: `Node ${proof}`,
      'x-berth-node-certificate': Buffer.from(state.certificate).toString('base64'),
    },
    ...(options.ca ? { ca: options.ca } : {}),
    maxPayload: 1 << 20,
    handshakeTimeout: 30_000,
  });
  const send = (message: unknown) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };
  const timers: NodeJS.Timeout[] = [];
  const streams = new Map<number, AbortController>();
  let opened = false;
  let hello = false;
  let manager = false;
  let snapshotSoon: NodeJS.Timeout | undefined;
  let events: NodeJS.ReadableStream | undefined;

  const memFree = () => (localEngine ? os.freemem() : null);
  const sayHello = async (): Promise<EngineInfo> => {
    const engine = await describeEngine(docker);
    manager = engine.swarm.role === 'manager';
    send({ type: 'hello', engine, memFree: memFree() });
    hello = true;
    return engine;
  };
  const snapshot = async () => {
    try {
      // The engine may have joined or left a Swarm since: say what it is with each snapshot.
      await sayHello();
      send({ type: 'inventory', snapshot: await takeSnapshot(docker, manager) });
    } catch (err) {
      options.log(`inventory: ${(err as Error).message}`);
    }
  };
  const scheduleSnapshot = () => {
    if (snapshotSoon) return;
    snapshotSoon = setTimeout(() => {
      snapshotSoon = undefined;
      void snapshot();
    }, 300);
  };
  const heartbeat = async () => {
    try {
      await docker.ping();
      if (!hello) await sayHello();
      send({ type: 'heartbeat', engineOk: true, engineError: null, memFree: memFree() });
    } catch (err) {
      send({
        type: 'heartbeat',
        engineOk: false,
        engineError: (err as Error).message.slice(0, 1000),
        memFree: memFree(),
      });
    }
  };
  const watchEvents = async () => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    try {
      events = (await docker.getEvents({})) as NodeJS.ReadableStream;
      events.on('data', scheduleSnapshot);
      const again = () => {
        events = undefined;
        if (socket.readyState === WebSocket.OPEN) setTimeout(() => void watchEvents(), 2_000);
      };
      events.on('end', again);
      events.on('error', again);
    } catch {
      if (socket.readyState === WebSocket.OPEN) setTimeout(() => void watchEvents(), 2_000);
    }
  };

  const reply = async (id: number, work: () => Promise<unknown>) => {
    try {
      send({ type: 'reply', id, ok: true, result: await work() });
    } catch (err) {
      send({
        type: 'reply',
        id,
        ok: false,
        error: (err as Error).message.slice(0, 2000),
        ...(err instanceof EngineError ? { status: err.status } : {}),
      });
    }
    scheduleSnapshot();
  };
  const call = (m: Extract<ControllerMessage, { type: 'call' }>) => {
    const a = m.args;
    const id = String(a.id ?? '');
    switch (m.op) {
      case 'run':
        return reply(m.id, () => runContainer(docker, a as unknown as RunArgs));
      case 'start':
      case 'stop':
      case 'restart':
      case 'remove':
        return reply(m.id, async () => {
          await containerAction(docker, m.op as 'start', id);
          return { id };
        });
      case 'logs':
        return reply(m.id, async () => {
          let text = '';
          await containerLogs(docker, id, { tail: Number(a.tail ?? 200), follow: false }, (t) => {
            text += t;
          });
          return { text: text.slice(-1_000_000) };
        });
      case 'stats':
        return reply(m.id, () => containerStats(docker, id));
      case 'service.create':
        return reply(m.id, () => createService(docker, a as unknown as ServiceArgs));
      case 'service.scale':
        return reply(m.id, async () => {
          await scaleService(docker, id, Number(a.replicas), a.auth as ServiceArgs['auth']);
          return { id };
        });
    }
  };
  const stream = (m: Extract<ControllerMessage, { type: 'stream' }>) => {
    const abort = new AbortController();
    streams.set(m.id, abort);
    const id = String(m.args.id ?? '');
    const work =
      m.op === 'logs'
        ? containerLogs(
            docker,
            id,
            { tail: Number(m.args.tail ?? 100), follow: true, signal: abort.signal },
            (data) => send({ type: 'chunk', id: m.id, data }),
          )
        : (async () => {
            while (!abort.signal.aborted) {
              send({
                type: 'chunk',
                id: m.id,
                data: JSON.stringify(await containerStats(docker, id)),
              });
              await new Promise((r) => setTimeout(r, 1_000));
            }
          })();
    work.then(
      () => send({ type: 'end', id: m.id }),
      (err: Error) => send({ type: 'end', id: m.id, error: err.message.slice(0, 1000) }),
    );
  };

  return new Promise((resolve) => {
    const stop = () => socket.close(1000, 'agent stopping');
    signal.addEventListener('abort', stop, { once: true });
    socket.on('open', () => {
      opened = true;
      void heartbeat().then(snapshot);
      void watchEvents();
    });
    socket.on('message', (data) => {
      let m: ControllerMessage;
      try {
        m = JSON.parse(String(data)) as ControllerMessage;
      } catch {
        return;
      }
      if (m.type === 'settings') {
        timers.forEach(clearInterval);
        timers.push(setInterval(() => void heartbeat(), m.heartbeatMs));
        timers.push(setInterval(() => void snapshot(), m.snapshotMs));
      } else if (m.type === 'call') void call(m);
      else if (m.type === 'stream') stream(m);
      else if (m.type === 'cancel') {
        streams.get(m.id)?.abort();
        streams.delete(m.id);
      }
    });
    socket.on('unexpected-response', (_req, res) => {
      socket.terminate();
      const refused = res.statusCode === 401 || res.statusCode === 403;
      resolve({ code: refused ? 4003 : 1006, reason: `HTTP ${res.statusCode}`, opened });
    });
    socket.on('error', () => undefined);
    socket.on('close', (code, reason) => {
      signal.removeEventListener('abort', stop);
      timers.forEach(clearInterval);
      if (snapshotSoon) clearTimeout(snapshotSoon);
      for (const a of streams.values()) a.abort();
      (events as unknown as { destroy?: () => void } | undefined)?.destroy?.();
      resolve({ code, reason: reason.toString(), opened });
    });
  });
}
