/** Management API: webhooks of a repository, a namespace or the whole registry, and their log. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteTable } from './lazy-routes.js';
import { z } from 'zod';
import type { AuthService } from '../auth/index.js';
import { EVENT_TYPES } from '../events/index.js';
import type { WebhookScope, WebhookService } from '../manage/index.js';
import { BerthError } from '../oci/index.js';
import { apiActor, bodyOf, intQuery, json, noContent, param, queryParam } from './api-common.js';

const filters = z
  .object({
    repositories: z.string().min(1).optional(),
    tags: z.string().min(1).optional(),
    mediaTypes: z.array(z.string().min(1)).optional(),
    excludeActors: z.array(z.string().min(1)).optional(),
  })
  .strict();

const webhookFields = {
  url: z.string().url(),
  format: z.enum(['hub', 'distribution', 'cloudevents']).optional(),
  events: z.array(z.enum(EVENT_TYPES as [string, ...string[]])).optional(),
  filters: filters.optional(),
  secret: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  caCert: z.string().nullable().optional(),
  description: z.string().max(500).nullable().optional(),
  enabled: z.boolean().optional(),
};

/** A new webhook. */
export const newWebhook = z.object(webhookFields).strict();

/** Changes to a webhook. */
export const webhookChanges = z
  .object({ ...webhookFields, url: webhookFields.url.optional() })
  .strict();

/** A secret rotation: the new secret (else one is made) and how long the old one keeps signing. */
export const secretRotation = z
  .object({
    secret: z.string().optional(),
    overlapSeconds: z.number().int().min(0).max(604_800).optional(),
  })
  .strict();

/** The receiver's report on a Docker Hub delivery. */
export const hubCallback = z.object({
  state: z.enum(['success', 'failure', 'error']),
  description: z.string().optional(),
  context: z.string().optional(),
  target_url: z.string().optional(),
});

const WEBHOOKS = '/_webhooks';

/** The id in a route parameter. */
function idParam(req: FastifyRequest, name: string): number {
  const value = param(req, name);
  if (!/^\d{1,15}$/.test(value)) throw new BerthError('NOT_FOUND', `no webhook ${value}`);
  return Number(value);
}

async function scoped(
  service: WebhookService,
  auth: AuthService,
  scope: WebhookScope,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const actor = await apiActor(auth, req, reply);
  if (req.method === 'GET') return json(reply, await service.list(actor, scope));
  json(reply, await service.create(actor, scope, bodyOf(newWebhook, req) as never), 201);
}

/** Whether a `/api/v1/repositories/*` path names a repository's webhooks; its name if so. */
export function repositoryWebhooksOf(path: string): string | undefined {
  return path.endsWith(WEBHOOKS) ? path.slice(0, -WEBHOOKS.length) : undefined;
}

/** Answers GET (list) and POST (create) on a repository's webhooks. */
export function repositoryWebhooks(
  service: WebhookService,
  auth: AuthService,
  name: string,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'POST')
    throw new BerthError('METHOD_UNKNOWN', `${req.method} is not supported here`);
  return scoped(service, auth, { kind: 'repository', name }, req, reply);
}

/** Registers the webhook routes under /api/v1. */
export function registerWebhookRoutes(
  app: RouteTable,
  auth: AuthService,
  service: WebhookService,
): void {
  for (const method of ['get', 'post'] as const) {
    app[method]('/api/v1/webhooks', (req, reply) =>
      scoped(service, auth, { kind: 'global', name: '' }, req, reply),
    );
    app[method]('/api/v1/namespaces/:namespace/webhooks', (req, reply) =>
      scoped(service, auth, { kind: 'namespace', name: param(req, 'namespace') }, req, reply),
    );
  }
  app.get('/api/v1/webhooks/:id', async (req, reply) =>
    json(reply, await service.get(await apiActor(auth, req, reply), idParam(req, 'id'))),
  );
  app.patch('/api/v1/webhooks/:id', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const patch = bodyOf(webhookChanges, req) as never;
    json(reply, await service.update(actor, idParam(req, 'id'), patch));
  });
  app.delete('/api/v1/webhooks/:id', async (req, reply) => {
    await service.remove(await apiActor(auth, req, reply), idParam(req, 'id'));
    noContent(reply);
  });
  app.post('/api/v1/webhooks/:id/secret', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const rotation = bodyOf(secretRotation, req);
    json(reply, await service.rotateSecret(actor, idParam(req, 'id'), rotation));
  });
  app.post('/api/v1/webhooks/:id/test', async (req, reply) =>
    json(reply, await service.test(await apiActor(auth, req, reply), idParam(req, 'id'))),
  );
  app.get('/api/v1/webhooks/:id/deliveries', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const state = queryParam(req, 'state');
    if (state !== undefined && !['pending', 'succeeded', 'dead'].includes(state))
      throw new BerthError('INVALID_REQUEST', 'state must be pending, succeeded or dead');
    const before = queryParam(req, 'before');
    json(
      reply,
      await service.deliveries(actor, idParam(req, 'id'), {
        state: state as 'pending' | undefined,
        before:
          before === undefined ? undefined : intQuery(req, 'before', 0, Number.MAX_SAFE_INTEGER),
        limit: intQuery(req, 'n', 50, 500),
      }),
    );
  });
  app.get('/api/v1/webhooks/:id/deliveries/:delivery', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    json(reply, await service.delivery(actor, idParam(req, 'id'), idParam(req, 'delivery')));
  });
  app.post('/api/v1/webhooks/:id/deliveries/:delivery/redeliver', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const id = idParam(req, 'id');
    json(reply, { queued: await service.redeliver(actor, id, idParam(req, 'delivery')) }, 202);
  });
  app.post('/api/v1/webhooks/:id/redeliver', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    json(reply, { queued: await service.redeliver(actor, idParam(req, 'id')) }, 202);
  });
  // The Docker Hub callback: no account, the token in the URL proves which delivery.
  app.post('/api/v1/webhooks/:id/callbacks/:event/:token', async (req, reply) => {
    const report = bodyOf(hubCallback, req);
    await service.callback(idParam(req, 'id'), idParam(req, 'event'), param(req, 'token'), report);
    noContent(reply);
  });
}
