/**
 * A small HTTP/1.1 load generator on raw keep-alive sockets: it does the same for GET and HEAD
 * (wrk waits for a body after HEAD), so both registries are measured by one client.
 */
import net from 'node:net';

/** What a load run measured. */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Every response's latency, ms, ascending. */
  latencies: number[];
}

/**
 * The first complete response in `buffer` (a keep-alive stream): its head and what follows it;
 * undefined while it is incomplete. Bodies are sized by Content-Length (none after a HEAD).
 */
export function takeResponse(
  buffer: Buffer,
  method: string,
): { head: string; rest: Buffer } | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buffer.subarray(0, end).toString('latin1');
  const length = method === 'HEAD' ? 0 : Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  if (buffer.length < end + 4 + length) return undefined;
  return { head, rest: buffer.subarray(end + 4 + length) };
}

/** The `p`th percentile of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `connections` keep-alive connections sending `method path` for `seconds`. */
export async function runLoad(
  host: string,
  port: number,
  method: 'GET' | 'HEAD',
  path: string,
  connections: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request = Buffer.from(
    `${method} ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n${extra}\r\n`,
  );
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();

  const connection = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect(port, host);
      socket.setNoDelay(true);
      let buffer: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const send = (): void => {
        if (performance.now() >= deadline) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          const response = takeResponse(buffer, method);
          if (!response) return;
          if (!response.head.startsWith('HTTP/1.1 2')) errors += 1;
          buffer = response.rest;
          latencies.push(performance.now() - sentAt);
          send();
        }
      });
      socket.on('error', () => {
        errors += 1;
        resolve();
      });
      socket.on('close', () => resolve());
    });

  await Promise.all(Array.from({ length: connections }, connection));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    seconds: elapsed,
    rps: latencies.length / elapsed,
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
    latencies,
  };
}

/** One keep-alive connection for sequential requests, with as little client overhead as possible. */
export class KeepAliveConnection {
  private readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting?: (response: { status: number; head: string; body: Buffer }) => void;
  private readonly ready: Promise<void>;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.socket = net.connect(port, host);
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.deliver();
    });
  }

  private deliver(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buffer.subarray(0, end).toString('latin1');
    const body = /\r\ntransfer-encoding: *chunked/i.test(head)
      ? this.chunkedBody(end + 4)
      : this.sizedBody(end + 4, Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0));
    if (!body) return;
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve({ status: Number(head.slice(9, 12)), head, body });
  }

  private sizedBody(start: number, length: number): Buffer | undefined {
    if (this.buffer.length < start + length) return undefined;
    const body = this.buffer.subarray(start, start + length);
    this.buffer = this.buffer.subarray(start + length);
    return body;
  }

  private chunkedBody(start: number): Buffer | undefined {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = this.buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(this.buffer.subarray(at, lineEnd).toString('latin1'), 16);
      if (this.buffer.length < lineEnd + 2 + size + 2) return undefined;
      if (size === 0) {
        this.buffer = this.buffer.subarray(lineEnd + 4);
        return Buffer.concat(parts);
      }
      parts.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }

  /** GETs `path` and returns status, raw head and body. */
  async get(
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; head: string; body: Buffer }> {
    await this.ready;
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n${extra}\r\n`);
    });
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }
}
