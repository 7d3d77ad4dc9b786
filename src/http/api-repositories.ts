/** Management API: repositories and their permissions, access tokens and the audit log. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteTable } from './lazy-routes.js';
import { z } from 'zod';
import type { BuildService, WebhookService } from '../manage/index.js';
import { repositoryBuildRoute, repositoryBuilds } from './api-builds.js';
import { repositoryWebhooks, repositoryWebhooksOf } from './api-webhooks.js';
import type { AuthService } from '../auth/index.js';
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

const level = z.enum(['read', 'write', 'admin']);
const visibility = z.enum(['public', 'private']);
export const newRepository = z
  .object({
    name: z.string(),
    visibility: visibility.optional(),
    description: z.string().max(100_000).nullish(),
  })
  .strict();
export const repositoryChanges = z
  .object({
    visibility: visibility.optional(),
    description: z.string().max(100_000).nullable().optional(),
  })
  .strict();
export const permission = z
  .object({ user: z.string().optional(), team: z.string().optional(), level: level.nullable() })
  .strict()
  .refine(
    (p) => (p.user === undefined) !== (p.team === undefined),
    'name exactly one of user and team',
  );
export const newToken = z
  .object({
    name: z.string(),
    level: level.default('read'),
    expiresInDays: z.number().positive().nullish(),
    user: z.string().optional(),
  })
  .strict();

const PERMISSIONS = '/_permissions';

function pageSize(req: FastifyRequest, fallback: number, max: number): number {
  return intQuery(req, 'n', fallback, max, queryParam(req, 'n') ?? queryParam(req, 'limit'));
}

function timeParam(req: FastifyRequest, name: string): number | undefined {
  const v = queryParam(req, name);
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t))
    throw new BerthError('INVALID_REQUEST', `${name} must be a time (ISO 8601 or ms)`);
  return t;
}

async function repositoryRoute(
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
  webhooks?: WebhookService,
  builds?: BuildService,
): Promise<void> {
  const path = param(req, '*');
  const build = repositoryBuildRoute(path);
  if (build) {
    if (!builds) throw new BerthError('NOT_FOUND', 'builds are not managed here');
    return repositoryBuilds(builds, auth, build, req, reply);
  }
  const hooksOf = repositoryWebhooksOf(path);
  if (hooksOf !== undefined) {
    if (!webhooks) throw new BerthError('NOT_FOUND', 'webhooks are not managed here');
    return repositoryWebhooks(webhooks, auth, hooksOf, req, reply);
  }
  const isPermissions = path.endsWith(PERMISSIONS);
  const name = isPermissions ? path.slice(0, -PERMISSIONS.length) : path;
  if (isPermissions) {
    const actor = await apiActor(auth, req, reply);
    if (req.method === 'GET') return json(reply, await auth.repositories.permissions(actor, name));
    if (req.method === 'PUT') {
      const p = bodyOf(permission, req);
      await auth.repositories.setPermission(actor, name, { user: p.user, team: p.team }, p.level);
      return noContent(reply);
    }
    if (req.method === 'DELETE') {
      const who = { user: queryParam(req, 'user'), team: queryParam(req, 'team') };
      await auth.repositories.setPermission(actor, name, who, null);
      return noContent(reply);
    }
  } else {
    if (req.method === 'GET') {
      const principal = await apiPrincipal(auth, req, reply);
      return json(reply, await auth.repositories.get(principal, name));
    }
    const actor = await apiActor(auth, req, reply);
    if (req.method === 'PATCH')
      return json(
        reply,
        await auth.repositories.update(actor, name, bodyOf(repositoryChanges, req)),
      );
    if (req.method === 'DELETE') {
      await auth.repositories.delete(actor, name);
      return noContent(reply);
    }
  }
  throw new BerthError('METHOD_UNKNOWN', `${req.method} is not supported here`);
}

/** Registers repository, token and audit routes under /api/v1. */
export function registerRepositoryRoutes(
  app: RouteTable,
  auth: AuthService,
  repositoriesChanged: () => void,
  webhooks?: WebhookService,
  builds?: BuildService,
): void {
  app.get('/api/v1/repositories', async (req, reply) => {
    const principal = await apiPrincipal(auth, req, reply);
    const limit = pageSize(req, 100, 1000);
    const items = await auth.repositories.list(principal, {
      limit,
      last: queryParam(req, 'last'),
      namespace: queryParam(req, 'namespace'),
    });
    json(reply, {
      repositories: items,
      next: items.length === limit ? items[items.length - 1]!.name : null,
    });
  });
  app.post('/api/v1/repositories', async (req, reply) => {
    const body = bodyOf(newRepository, req);
    json(
      reply,
      await auth.repositories.create(await apiActor(auth, req, reply), body.name, body),
      201,
    );
  });
  app.route({
    method: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
    url: '/api/v1/repositories/*',
    handler: async (req, reply) => {
      await repositoryRoute(auth, req, reply, webhooks, builds);
      if (req.method === 'DELETE') repositoriesChanged();
    },
  });

  app.get('/api/v1/tokens', async (req, reply) =>
    json(
      reply,
      await auth.accessTokens.list(await apiActor(auth, req, reply), queryParam(req, 'user')),
    ),
  );
  app.post('/api/v1/tokens', async (req, reply) =>
    json(
      reply,
      await auth.accessTokens.create(await apiActor(auth, req, reply), bodyOf(newToken, req)),
      201,
    ),
  );
  app.delete('/api/v1/tokens/:id', async (req, reply) => {
    const id = Number(param(req, 'id'));
    if (!Number.isSafeInteger(id))
      throw new BerthError('INVALID_REQUEST', 'token ids are integers');
    await auth.accessTokens.revoke(await apiActor(auth, req, reply), id);
    noContent(reply);
  });

  app.get('/api/v1/audit', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const before = queryParam(req, 'before');
    const entries = await auth.auditLog.query(actor, {
      actor: queryParam(req, 'actor'),
      action: queryParam(req, 'action'),
      target: queryParam(req, 'target'),
      since: timeParam(req, 'since'),
      until: timeParam(req, 'until'),
      before: before === undefined ? undefined : Number(before),
      limit: pageSize(req, 100, 1000),
    });
    json(reply, {
      entries: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
      next: entries.length > 0 ? entries[entries.length - 1]!.id : null,
    });
  });
}
