/** The registry client the benchmark uses for uploads and downloads: node:http, streamed, keep-alive. */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** A response: status, headers and (unless discarded) the body. */
export interface BenchResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Sends one request with an optional body — in memory (its length announced) or a stream (sent
 * with chunked transfer encoding, no length); `sink` consumes the response body instead of
 * buffering it.
 */
export function request(
  url: string,
  method: string,
  body?: Buffer | Readable,
  headers: Record<string, string> = {},
  sink?: (chunk: Buffer) => void,
): Promise<BenchResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: Buffer.isBuffer(body)
          ? { 'content-length': String(body.length), ...headers }
          : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => (sink ? sink(chunk) : chunks.push(chunk)));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

/** The absolute upload URL from a Location header (relative or absolute). */
export function resolveLocation(base: string, location: string | undefined): string {
  if (!location) throw new Error('no Location header');
  return new URL(location, base).toString();
}

export function withDigest(url: string, digest: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}digest=${digest}`;
}

function expect(res: BenchResponse, status: number, what: string): void {
  if (res.status !== status)
    throw new Error(
      `${what}: expected ${status}, got ${res.status} ${res.body.toString().slice(0, 200)}`,
    );
}

/** Starts an upload of a blob into `name` (POST): the absolute URL to send its bytes to. */
async function startUpload(
  base: string,
  name: string,
  auth: Record<string, string>,
): Promise<string> {
  const start = await request(`${base}/v2/${name}/blobs/uploads/`, 'POST', undefined, auth);
  expect(start, 202, 'POST upload');
  return resolveLocation(base, start.headers.location);
}

/** Uploads a blob as POST + PUT with the whole body. */
export async function uploadMonolithic(
  base: string,
  name: string,
  bytes: Buffer,
  digest: string,
  auth: Record<string, string> = {},
): Promise<void> {
  const upload = await startUpload(base, name, auth);
  const done = await request(withDigest(upload, digest), 'PUT', bytes, {
    'content-type': 'application/octet-stream',
    ...auth,
  });
  expect(done, 201, 'PUT upload');
}

/** Uploads a blob in PATCHes of `chunk` bytes, then an empty PUT. */
export async function uploadChunked(
  base: string,
  name: string,
  bytes: Buffer,
  digest: string,
  chunk: number,
  auth: Record<string, string> = {},
): Promise<void> {
  let location = await startUpload(base, name, auth);
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    const part = bytes.subarray(offset, Math.min(bytes.length, offset + chunk));
    const res = await request(location, 'PATCH', part, {
      'content-type': 'application/octet-stream',
      'content-range': `${offset}-${offset + part.length - 1}`,
      ...auth,
    });
    expect(res, 202, 'PATCH chunk');
    location = resolveLocation(base, res.headers.location);
  }
  await finishUpload(location, digest, auth);
}

/**
 * Uploads a blob as docker does a layer: POST, one PATCH whose body streams in 64 KiB chunks with
 * no length announced (chunked transfer encoding), then an empty PUT.
 */
export async function uploadStreamed(
  base: string,
  name: string,
  bytes: Buffer,
  digest: string,
  auth: Record<string, string> = {},
): Promise<void> {
  const upload = await startUpload(base, name, auth);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 65_536) chunks.push(bytes.subarray(at, at + 65_536));
  const patched = await request(upload, 'PATCH', Readable.from(chunks), {
    'content-type': 'application/octet-stream',
    ...auth,
  });
  expect(patched, 202, 'PATCH stream');
  await finishUpload(resolveLocation(base, patched.headers.location), digest, auth);
}

/** Completes the upload at `location` as blob `digest` with an empty PUT. */
async function finishUpload(
  location: string,
  digest: string,
  auth: Record<string, string>,
): Promise<void> {
  const done = await request(withDigest(location, digest), 'PUT', undefined, auth);
  expect(done, 201, 'PUT upload');
}

/** Downloads a blob, hashing it as it arrives, and checks the digest. */
export async function downloadVerified(
  base: string,
  name: string,
  digest: string,
  auth: Record<string, string> = {},
): Promise<number> {
  const hash = createHash('sha256');
  let bytes = 0;
  const url = `${base}/v2/${name}/blobs/${digest}`;
  const res = await request(url, 'GET', undefined, auth, (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  expect(res, 200, 'GET blob');
  if (`sha256:${hash.digest('hex')}` !== digest)
    throw new Error('downloaded blob has the wrong digest');
  return bytes;
}

/** Pushes a manifest under `reference`. */
export async function putManifest(
  base: string,
  name: string,
  reference: string,
  manifest: Buffer,
  mediaType: string,
  auth: Record<string, string> = {},
): Promise<void> {
  const res = await request(`${base}/v2/${name}/manifests/${reference}`, 'PUT', manifest, {
    'content-type': mediaType,
    ...auth,
  });
  expect(res, 201, 'PUT manifest');
}
