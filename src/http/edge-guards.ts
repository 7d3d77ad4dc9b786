/**
 * The guards every connection and request passes before any route: connections per client
 * address, one valid Host, a deadline for small bodies, security headers, and the audit of
 * refusals.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { addressMatcher } from '../kit/index.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { principalName, wasAudited, type AuditSink } from '../auth/index.js';
import { BerthError } from '../oci/index.js';
import { hostProblem } from './host-header.js';
import { hasBody } from './request-bits.js';
import { callerOf, errorOf } from './request-notes.js';

/** The bounds the guards apply. */
export interface GuardOptions {
  connectionsPerAddress: number;
  /** Seconds a body other than a blob upload has to arrive whole. */
  bodyTimeout: number;
  /** Proxies whose connections are not counted per address. */
  trustedProxies: string[];
  tls: boolean;
}

const UPLOAD_PATH = /^\/v2\/.+\/blobs\/uploads\//;

function refusedConnection(): string {
  const body = JSON.stringify(
    new BerthError(
      'TOOMANYREQUESTS',
      'too many open connections from this address; close some and retry',
    ).toBody(),
  );
  return (
    'HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n' +
    `Retry-After: 1\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Counts open connections per peer address and turns away those over the limit. */
export function limitConnections(server: Server, options: GuardOptions): void {
  const open = new Map<string, number>();
  const trusted = addressMatcher(options.trustedProxies);
  const refusal = refusedConnection();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (trusted(address)) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > options.connectionsPerAddress) {
      // Under TLS the socket is still raw: no HTTP answer can be written before the handshake.
      if (options.tls) socket.destroy();
      else socket.end(refusal);
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/** Closes the connection of a request whose (non-upload) body has not arrived within the deadline. */
function bodyDeadline(req: FastifyRequest, seconds: number): void {
  // Blob uploads may take as long as they keep sending (the idle timeout still applies).
  if (!hasBody(req.raw) || UPLOAD_PATH.test(req.url)) return;
  const raw = req.raw;
  const timer = setTimeout(() => {
    if (!raw.complete) raw.socket?.destroy();
  }, seconds * 1000);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  raw.once('end', clear);
  raw.once('close', clear);
}

/** Why the message's framing is ambiguous (both Content-Length and Transfer-Encoding), or undefined. */
function framingProblem(req: FastifyRequest): string | undefined {
  if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] !== undefined)
    return 'a request may not carry both Content-Length and Transfer-Encoding';
  return undefined;
}

function refuse(reply: FastifyReply, message: string): void {
  reply
    .code(400)
    .header('Connection', 'close')
    .header('Content-Type', 'application/json')
    .send(JSON.stringify(new BerthError('INVALID_REQUEST', message).toBody()));
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
};

/**
 * Answers a request Node's parser refused (bad bytes in the path, an oversized header, a
 * timeout): a status line, an error body — none for a HEAD — and the connection closed, so
 * nothing after it on the connection is taken for a request.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  // A response still being written owns the connection: let it finish, then close.
  const current = (socket as Socket & { _httpMessage?: NodeJS.EventEmitter })._httpMessage;
  if (current) {
    current.once('finish', () => socket.destroy());
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  const head = Buffer.isBuffer(raw) && raw.subarray(0, 5).toString('latin1') === 'HEAD ';
  const body = JSON.stringify(
    new BerthError('INVALID_REQUEST', `malformed request (${err.code ?? 'parse error'})`).toBody(),
  );
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
  );
}

/**
 * Handles a connection's requests one after another: a request pipelined behind another starts
 * (`go`) only once that one is answered, so a GET after a PUT of the same manifest sees it. Node
 * gives the connection to one response at a time (`socket._httpMessage`); a request whose
 * response is not that one waits for it to close, then looks again. Without pipelining this costs
 * one property read.
 */
function inOrder(req: FastifyRequest, reply: FastifyReply, go: () => void): void {
  const socket = req.raw.socket as Socket & { _httpMessage?: NodeJS.EventEmitter | null };
  const current = socket._httpMessage;
  if (!current || current === reply.raw || socket.destroyed) return go();
  current.once('close', () => inOrder(req, reply, go));
}

/** Registers the per-request guards and the audit of refusals on `app`. */
export function guardRequests(
  app: FastifyInstance,
  options: GuardOptions,
  audit: AuditSink | undefined,
): void {
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    if (options.tls) reply.header('Strict-Transport-Security', 'max-age=31536000');
    const problem = hostProblem(req.raw) ?? framingProblem(req);
    if (problem) return refuse(reply, problem);
    bodyDeadline(req, options.bodyTimeout);
    inOrder(req, reply, done);
  });
  if (audit)
    app.addHook('onResponse', (req, reply, done) => {
      auditRefusal(audit, req, reply.statusCode);
      done();
    });
}

const REFUSALS = new Set([401, 403, 413, 429]);

/**
 * Records a refusal (403, 413, 429, or a 401 to a caller who presented credentials) with actor,
 * address and reason, unless it was audited where it happened.
 */
function auditRefusal(audit: AuditSink, req: FastifyRequest, status: number): void {
  if (!REFUSALS.has(status)) return;
  if (status === 401 && req.headers.authorization === undefined) return;
  const err = errorOf(req);
  if (wasAudited(err)) return;
  const caller = callerOf(req);
  void audit.record({
    actor: caller ? principalName(caller.principal) : null,
    action: 'request.refused',
    target: req.url.split('?')[0]!.slice(0, 300),
    outcome: 'denied',
    address: req.ip,
    detail: {
      method: req.method,
      status,
      code: err instanceof BerthError ? err.code : undefined,
      reason: err?.message.slice(0, 500),
    },
  });
}
