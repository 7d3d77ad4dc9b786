/**
 * Serving the built web UI (dist/ui) from `berth serve` itself: hashed assets cached for a year
 * as immutable, index.html revalidated every time, and every other browser path answered with
 * index.html so the single-page app can route it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../kit/index.js';

/** Where `vite build` puts the UI: `<package>/dist/ui`. */
export const WEB_UI_DIR = path.join(packageRoot(), 'dist', 'ui');

const API_PREFIXES = [
  '/v2',
  '/v1/',
  '/api/',
  '/token',
  '/metrics',
  '/healthz',
  '/_notary_server/',
  '/assets/',
];

/** Answers browser navigation (GET, Accept: text/html, not an API path) with the app; else false. */
export type WebUiFallback = (req: FastifyRequest, reply: FastifyReply) => boolean;

/** Registers the UI's routes; returns the fallback for unknown browser paths. */
export function registerWebUi(app: FastifyInstance, dir = WEB_UI_DIR): WebUiFallback {
  const indexFile = path.join(dir, 'index.html');
  const built = existsSync(indexFile);
  const index = built
    ? readFileSync(indexFile)
    : Buffer.from(
        '<!doctype html><title>Berth</title><p>The Berth web UI is not built in this checkout: run <code>npm run build</code>.</p>',
      );
  const sendIndex = (reply: FastifyReply) =>
    reply
      .code(200)
      .header('Content-Type', 'text/html; charset=utf-8')
      .header('Cache-Control', 'no-cache')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'same-origin')
      .header(
        'Content-Security-Policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
      )
      .send(index);
  if (built)
    void app.register(fastifyStatic, {
      root: path.join(dir, 'assets'),
      prefix: '/assets/',
      immutable: true,
      maxAge: '365d',
      index: false,
      decorateReply: false,
    });
  app.get('/', async (_req, reply) => sendIndex(reply));
  return (req, reply) => {
    if (req.method !== 'GET') return false;
    const url = req.url;
    if (API_PREFIXES.some((p) => url.startsWith(p))) return false;
    if (!String(req.headers.accept ?? '').includes('text/html')) return false;
    sendIndex(reply);
    return true;
  };
}
