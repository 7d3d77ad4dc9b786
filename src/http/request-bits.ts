/** Reading pieces of requests: limited bodies, Content-Range, Range and pagination parameters. */
import type { IncomingMessage } from 'node:http';
import { BerthError } from '../oci/index.js';
import type { ByteRange } from '../registry/index.js';

/** Reads a whole request body of at most `limit` bytes, or throws `tooLarge`. */
export async function readLimitedBody(
  req: IncomingMessage,
  limit: number,
  tooLarge: () => BerthError,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).byteLength;
    if (total > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/** The Content-Length header as a number, or undefined. */
export function contentLength(req: IncomingMessage): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new BerthError('SIZE_INVALID', `invalid Content-Length ${value}`);
  return n;
}

/** True when the request carries a body (a non-zero Content-Length or chunked encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * Parses an upload chunk's `Content-Range`, which the distribution spec defines as exactly
 * `<start>-<end>` (inclusive, start ≤ end); anything else (`bytes=0-99`, `bytes 0-99/100`) is 416.
 */
export function parseContentRange(
  value: string | undefined,
): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,15})-(\d{1,15})$/.exec(value);
  if (!m || Number(m[1]) > Number(m[2]))
    throw new BerthError(
      'RANGE_INVALID',
      `invalid Content-Range ${JSON.stringify(value.slice(0, 100))}: the form is <start>-<end>`,
    );
  return { start: Number(m[1]), end: Number(m[2]) };
}

/**
 * Parses a blob request's `Range: bytes=…` against the blob's size. Returns undefined for the
 * whole blob, a range, or 'unsatisfiable'. Multiple ranges are served as the whole blob.
 */
export function parseRange(
  value: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** The page size `n` (undefined when absent) from a query, or PAGINATION_NUMBER_INVALID. */
export function parsePageSize(query: URLSearchParams, max: number): number | undefined {
  const raw = query.get('n');
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new BerthError('PAGINATION_NUMBER_INVALID', `invalid page size n=${raw.slice(0, 20)}`);
  return Math.min(n, max);
}
