/**
 * Management API for automated builds: a repository's link to its git source and rules, "build
 * now", history, a build with its log (and the log live as Server-Sent Events), cancel; and the
 * git servers' push webhooks, which carry no account and are read as raw bytes to verify them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteTable } from './lazy-routes.js';
import { z } from 'zod';
import type { AuthService } from '../auth/index.js';
import type { BuildService } from '../manage/index.js';
import { BerthError } from '../oci/index.js';
import {
  apiActor,
  apiPrincipal,
  bodyOf,
  intQuery,
  json,
  noContent,
  param,
  queryParam,
} from './api-common.js';

const rule = z
  .object({
    sourceType: z.enum(['branch', 'tag']),
    source: z.string().min(1).max(200),
    tag: z.string().min(1).max(200),
    dockerfile: z.string().min(1).default('Dockerfile'),
    context: z.string().min(1).default('.'),
    buildArgs: z.record(z.string(), z.string()).default({}),
    cache: z.boolean().default(true),
    autobuild: z.boolean().default(true),
    latestOnDefault: z.boolean().default(false),
  })
  .strict();

/** A repository's link to a git source. */
export const buildLink = z
  .object({
    source: z.string().min(1),
    deployKey: z.boolean().optional(),
    credentials: z
      .object({ username: z.string().min(1), password: z.string().min(1) })
      .nullable()
      .optional(),
    defaultBranch: z.string().min(1).nullable().optional(),
    rules: z.array(rule).min(1).max(50).optional(),
    paths: z.array(z.string().min(1)).max(50).optional(),
    pollSeconds: z.number().int().min(0).max(86_400).optional(),
    rebuildOnBase: z.boolean().optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

/** "Build now": a branch, a tag or a full ref, optionally at one commit. */
export const buildTrigger = z
  .object({
    ref: z.string().min(1).max(250),
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/)
      .optional(),
  })
  .strict();

/** The `/_build…` suffix of a `/api/v1/repositories/*` path, and the repository before it. */
export function repositoryBuildRoute(
  path: string,
): { name: string; what: 'config' | 'trigger' | 'secret' | 'history' } | undefined {
  const m = /^(.+)\/(_build(?:\/trigger|\/secret)?|_builds)$/.exec(path);
  if (!m) return undefined;
  const what =
    m[2] === '_builds'
      ? 'history'
      : m[2] === '_build'
        ? 'config'
        : m[2] === '_build/trigger'
          ? 'trigger'
          : 'secret';
  return { name: m[1]!, what };
}

/** Answers a repository's build routes. */
export async function repositoryBuilds(
  builds: BuildService,
  auth: AuthService,
  route: NonNullable<ReturnType<typeof repositoryBuildRoute>>,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const { name, what } = route;
  const method = `${req.method} ${what}`;
  if (method === 'GET history') {
    const principal = await apiPrincipal(auth, req, reply);
    const before = queryParam(req, 'before');
    return json(
      reply,
      await builds.history(principal, name, {
        before:
          before === undefined ? undefined : intQuery(req, 'before', 0, Number.MAX_SAFE_INTEGER),
        limit: intQuery(req, 'n', 50, 500),
      }),
    );
  }
  const actor = await apiActor(auth, req, reply);
  switch (method) {
    case 'GET config':
      return json(reply, await builds.config(actor, name));
    case 'PUT config':
      return json(reply, await builds.link(actor, name, bodyOf(buildLink, req)));
    case 'DELETE config':
      await builds.unlink(actor, name);
      return noContent(reply);
    case 'POST trigger':
      return json(reply, await builds.trigger(actor, name, bodyOf(buildTrigger, req)), 202);
    case 'POST secret':
      return json(reply, await builds.rotateHookSecret(actor, name));
  }
  throw new BerthError('METHOD_UNKNOWN', `${req.method} is not supported here`);
}

function buildId(req: FastifyRequest): number {
  const value = param(req, 'id');
  if (!/^\d{1,15}$/.test(value)) throw new BerthError('NOT_FOUND', `no build ${value}`);
  return Number(value);
}

/** Streams a build's log as Server-Sent Events: `data:` lines, then `event: end`. */
async function streamLog(
  builds: BuildService,
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const principal = await apiPrincipal(auth, req, reply);
  const id = buildId(req);
  const out = reply.raw;
  let stop: () => void = () => undefined;
  const send = (line: string | null) => {
    if (line === null) {
      clearInterval(heartbeat);
      out.end('event: end\ndata: end\n\n');
      return;
    }
    for (const l of line.split('\n')) out.write(`data: ${l}\n`);
    out.write('\n');
  };
  // Checked before the answer starts, so refusals are ordinary errors.
  await builds.build(principal, id);
  reply.hijack();
  out.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  // A comment every 15 s keeps idle-connection limits and proxies from closing a quiet build.
  const heartbeat = setInterval(() => out.write(': still building\n\n'), 15_000);
  out.on('close', () => {
    clearInterval(heartbeat);
    stop();
  });
  stop = await builds.follow(principal, id, send);
}

/** Registers /api/v1/builds/… under /api/v1 (the repository routes come through their own path). */
export function registerBuildRoutes(
  app: RouteTable,
  auth: AuthService,
  builds: BuildService,
): void {
  app.get('/api/v1/builds/:id', async (req, reply) =>
    json(reply, await builds.build(await apiPrincipal(auth, req, reply), buildId(req))),
  );
  app.get('/api/v1/builds/:id/log', (req, reply) => streamLog(builds, auth, req, reply));
  app.post('/api/v1/builds/:id/cancel', async (req, reply) =>
    json(reply, await builds.cancel(await apiActor(auth, req, reply), buildId(req))),
  );
}

/**
 * Registers the git servers' push webhooks (`POST /api/v1/build-hooks/CONFIG/PROVIDER`), in a
 * scope of their own that keeps each body as raw bytes (up to 5 MiB) for signature checks.
 */
export function registerBuildHooks(app: FastifyInstance, builds: BuildService): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 5 << 20 }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/api/v1/build-hooks/:config/:provider', async (req, reply) => {
    const config = param(req, 'config');
    if (!/^\d{1,15}$/.test(config)) throw new BerthError('NOT_FOUND', 'no such build trigger');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await builds.hook(Number(config), param(req, 'provider'), req.headers, body);
    json(reply, answer, 202);
  });
}
