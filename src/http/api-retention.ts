/**
 * Retention under /api/v1/retention: policies (a scope's administrators), runs by hand and dry
 * runs, the runs' reports, the trash and restoring from it.
 */
import type { FastifyRequest } from 'fastify';
import type { RouteTable } from './lazy-routes.js';
import { z } from 'zod';
import type { AuthService } from '../auth/index.js';
import type { RetentionService } from '../manage/index.js';
import { BerthError } from '../oci/index.js';
import { keepRules } from '../retention/index.js';
import { apiActor, bodyOf, json, noContent, param, queryParam } from './api-common.js';

/** A retention policy as the API takes it. */
export const retentionPolicyBody = z
  .object({
    scope: z.string().min(1).max(255),
    rules: keepRules,
    everyHours: z.number().int().min(1).max(8_760).nullable().default(null),
    restoreDays: z.number().int().min(0).max(365).default(7),
    enabled: z.boolean().default(true),
  })
  .strict();

/** How a run is asked for. */
export const retentionRunBody = z.object({ dryRun: z.boolean().default(false) }).strict();

function idOf(req: FastifyRequest): number {
  const id = Number(param(req, 'id'));
  if (!Number.isSafeInteger(id)) throw new BerthError('INVALID_REQUEST', 'an id is a number');
  return id;
}

/** Registers the retention routes. */
export function registerRetentionRoutes(
  app: RouteTable,
  auth: AuthService,
  retention: RetentionService,
): void {
  app.get('/api/v1/retention/policies', async (req, reply) => {
    json(reply, await retention.policies(await apiActor(auth, req, reply)));
  });
  app.post('/api/v1/retention/policies', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    json(reply, await retention.add(actor, bodyOf(retentionPolicyBody, req)), 201);
  });
  app.put('/api/v1/retention/policies/:id', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    json(reply, await retention.update(actor, idOf(req), bodyOf(retentionPolicyBody, req)));
  });
  app.delete('/api/v1/retention/policies/:id', async (req, reply) => {
    await retention.remove(await apiActor(auth, req, reply), idOf(req));
    noContent(reply);
  });
  app.post('/api/v1/retention/policies/:id/run', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const { dryRun } = bodyOf(retentionRunBody, req);
    json(reply, await retention.run(actor, idOf(req), dryRun));
  });
  app.get('/api/v1/retention/runs', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const policy = queryParam(req, 'policy');
    json(reply, await retention.runs(actor, policy === undefined ? undefined : Number(policy)));
  });
  app.get('/api/v1/retention/trash', async (req, reply) => {
    json(reply, await retention.trash(await apiActor(auth, req, reply)));
  });
  app.post('/api/v1/retention/trash/:id/restore', async (req, reply) => {
    json(reply, await retention.restore(await apiActor(auth, req, reply), idOf(req)));
  });
}
