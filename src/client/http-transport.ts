/** One HTTP request over node:http/https with keep-alive; bodies stream both ways. */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 16 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

/** A response whose body has not been read yet. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/** A request body: bytes, or a function making a fresh stream (so the request can be retried). */
export type RequestBody = Buffer | (() => Readable);

/** Sends one request; resolves when the response head arrives. */
export function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: RequestBody,
  options: { ca?: string; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    // A private CA needs its own connections (the shared keep-alive agents trust the system's).
    const req = lib.request(
      url,
      {
        method,
        headers,
        ...(options.ca ? { ca: options.ca } : { agent: agents[url.protocol as 'http:'] }),
      },
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
    );
    if (options.timeoutMs)
      req.setTimeout(options.timeoutMs, () =>
        req.destroy(
          Object.assign(new Error('the registry did not answer in time'), { code: 'ETIMEDOUT' }),
        ),
      );
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      const stream = body();
      stream.on('error', (err) => req.destroy(err));
      stream.pipe(req);
    }
  });
}

/** Reads a whole (small) response body. */
export async function readAll(res: HttpResponse, limit = 8 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.body.destroy();
      throw new Error(`response body larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Throws the response away (so the connection can be reused). */
export function discard(res: HttpResponse): void {
  res.body.resume();
}
