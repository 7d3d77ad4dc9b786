/**
 * One HTTP POST of a delivery: https with an optional custom CA, no redirects followed, a time
 * limit over the whole exchange, host names resolved only to allowed addresses, and the first KiB
 * of the answer kept for the delivery log.
 */
import http from 'node:http';
import https from 'node:https';
import { guardedLookup, type DestinationRules } from './destination.js';

/** What is sent. */
export interface OutgoingDelivery {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** PEM certificates trusted for this endpoint instead of the system's. */
  caCert?: string | null;
  timeoutMs: number;
}

/** What came back (or why nothing did). */
export interface DeliveryResponse {
  status: number | null;
  headers: Record<string, string> | null;
  /** The first KiB of the response body. */
  body: string | null;
  latencyMs: number;
  error: string | null;
}

const KEPT_BYTES = 1024;

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** POSTs `delivery`; never throws (failures are in the result). */
export function sendDelivery(
  delivery: OutgoingDelivery,
  rules: DestinationRules,
): Promise<DeliveryResponse> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<DeliveryResponse, 'latencyMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: elapsed() });
    };
    const failed = (error: string): void =>
      finish({ status: null, headers: null, body: null, error });
    const url = new URL(delivery.url);
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'POST',
      headers: { ...delivery.headers, 'content-length': Buffer.byteLength(delivery.body) },
      lookup: guardedLookup(rules),
      ...(delivery.caCert ? { ca: delivery.caCert } : {}),
      agent: false,
    });
    const timer = setTimeout(() => {
      failed(`no answer within ${delivery.timeoutMs} ms`);
      req.destroy();
    }, delivery.timeoutMs);
    req.on('error', (err) => failed(err.message));
    req.on('response', (res) => {
      const kept: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < KEPT_BYTES) kept.push(chunk.subarray(0, KEPT_BYTES - size));
        size += chunk.length;
        if (size > 64 * KEPT_BYTES) res.destroy();
      });
      const done = (): void =>
        finish({
          status: res.statusCode ?? null,
          headers: flatHeaders(res.headers),
          body: Buffer.concat(kept).toString('utf8'),
          error: null,
        });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.end(delivery.body);
  });
}
