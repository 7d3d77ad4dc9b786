/** Replication rules and their executions under /api/v1/replication (administrators). */
import { z } from 'zod';
import type { RouteTable } from './lazy-routes.js';
import type { AuthService } from '../auth/index.js';
import { ruleSettings, type ReplicationAdmin } from '../replication/index.js';
import { BerthError } from '../oci/index.js';
import { apiActor, bodyOf, json, noContent, param, queryParam } from './api-common.js';

/** A rule as sent: its settings (checked whole by the replication room) and whether it is on. */
export const ruleBody = z.record(z.string(), z.unknown());

/** Registers /api/v1/replication/…. */
export function registerReplicationRoutes(
  app: RouteTable,
  auth: AuthService,
  replication: ReplicationAdmin,
): void {
  app.get('/api/v1/replication/rules', async (req, reply) =>
    json(reply, await replication.rules(await apiActor(auth, req, reply))),
  );
  app.put('/api/v1/replication/rules/:name', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const { enabled, ...settings } = bodyOf(ruleBody, req);
    await replication.putRule(actor, param(req, 'name'), settings, enabled !== false);
    noContent(reply);
  });
  app.delete('/api/v1/replication/rules/:name', async (req, reply) => {
    await replication.removeRule(await apiActor(auth, req, reply), param(req, 'name'));
    noContent(reply);
  });
  app.post('/api/v1/replication/rules/:name/run', async (req, reply) =>
    json(reply, await replication.run(await apiActor(auth, req, reply), param(req, 'name')), 202),
  );
  app.get('/api/v1/replication/executions', async (req, reply) =>
    json(
      reply,
      await replication.executions(await apiActor(auth, req, reply), queryParam(req, 'rule')),
    ),
  );
  app.get('/api/v1/replication/executions/:id', async (req, reply) => {
    const id = Number(param(req, 'id'));
    if (!Number.isInteger(id))
      throw new BerthError('INVALID_REQUEST', 'an execution id is a number');
    json(reply, await replication.execution(await apiActor(auth, req, reply), id));
  });
}

/** The rule body for the OpenAPI document. */
export const ruleDocument = ruleSettings;
