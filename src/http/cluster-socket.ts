/**
 * Agents' WebSocket: `GET /api/v1/cluster/agent` upgraded once the node's certificate and proof
 * hold (otherwise 401 before any WebSocket is made). The connection is handed to the hub; a ping
 * every 20 s ends one whose peer went away without closing.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { WebSocket, WebSocketServer } from 'ws';
import type { AgentHub, AgentLink, ControlPlane } from '../cluster/index.js';

const PATH = '/api/v1/cluster/agent';

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ errors: [{ code: 'DENIED', message }] });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Not Found'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

function linkOf(ws: WebSocket): AgentLink {
  return {
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason.slice(0, 120)),
    onMessage: (listener) => ws.on('message', (data) => listener(String(data))),
    onClose: (listener) => ws.on('close', listener),
  };
}

/**
 * Accepts agents' connections on `app`'s server. The WebSocket library is loaded with the first
 * agent that proves itself, not at every start of a registry that may have no nodes.
 */
export function acceptAgents(app: FastifyInstance, plane: ControlPlane, hub: AgentHub): void {
  let server: WebSocketServer | undefined;
  let making: Promise<WebSocketServer> | undefined;
  const socketServer = (): Promise<WebSocketServer> =>
    (making ??= import('ws').then(
      ({ WebSocketServer }) =>
        (server = new WebSocketServer({ noServer: true, maxPayload: 16 << 20 })),
    ));
  const alive = new WeakMap<WebSocket, boolean>();
  const pinger = setInterval(() => {
    for (const ws of server?.clients ?? []) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, 20_000);
  pinger.unref();
  app.addHook('onClose', async () => {
    clearInterval(pinger);
    for (const ws of server?.clients ?? []) ws.terminate();
  });
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== PATH) {
      refuse(socket, 404, 'no WebSocket here');
      return;
    }
    const proof = /^Node (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const certificate = Buffer.from(
      String(req.headers['x-berth-node-certificate'] ?? ''),
      'base64',
    ).toString();
    if (!proof || !certificate) {
      refuse(socket, 401, 'a node certificate and proof are needed');
      return;
    }
    plane.nodes.authenticateAgent(certificate, proof).then(
      (node) =>
        socketServer().then(
          (sockets) =>
            sockets.handleUpgrade(req, socket, head, (ws) => {
              alive.set(ws, true);
              ws.on('pong', () => alive.set(ws, true));
              hub.attach(node.id, linkOf(ws));
            }),
          (err: Error) => socket.destroy(err),
        ),
      (err: Error) => refuse(socket, 401, err.message),
    );
  });
}
