/** The request's Host header: exactly one, and a host (`name[:port]`, `[v6][:port]`), or 400. */
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';

const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOST = new RegExp(
  `^(?:${LABEL}(?:\\.${LABEL})*\\.?|\\[[0-9A-Fa-f:.]{2,45}\\])(?::(\\d{1,5}))?$`,
);

/** The last value `isValidHost` accepted: clients name the same host in every request. */
let lastValidHost = '';

/** Whether `value` is a host with an optional port, as a Host header or a `domain` may be. */
export function isValidHost(value: string): boolean {
  if (value === lastValidHost && value !== '') return true;
  const m = HOST.exec(value);
  const valid = m !== null && (m[1] === undefined || Number(m[1]) <= 65_535);
  if (valid) lastValidHost = value;
  return valid;
}

/** Why the Host of `req` is unacceptable (missing under HTTP/1.1, repeated, not a host), or undefined. */
export function hostProblem(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host'))
      values.push(raw[i + 1]!);
  }
  if (values.length > 1) return 'a request may carry one Host header only';
  if (values.length === 0)
    return req.httpVersion === '1.0' ? undefined : 'the Host header is missing';
  if (!isValidHost(values[0]!)) return 'the Host header is not a host name';
  return undefined;
}

/** The Host the client used (checked by `hostProblem` before any route runs), or `fallback`. */
export function requestHost(req: FastifyRequest, fallback = 'localhost'): string {
  return req.headers.host ?? fallback;
}
