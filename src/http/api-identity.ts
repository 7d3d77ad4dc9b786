/**
 * Management API for identity providers (administrators): list, save and remove directories, test
 * with a dry run, sync, and move an account between providers.
 */
import { z } from 'zod';
import type { RouteTable } from './lazy-routes.js';
import type { AuthService } from '../auth/index.js';
import { apiActor, bodyOf, json, noContent, param } from './api-common.js';

/** A provider test: with `login`, a dry run of what that user would get. */
export const providerTest = z.object({ login: z.string().min(1).max(256).optional() }).strict();

/** Which provider an account belongs to (null: a local account). */
export const identityLink = z.object({ provider: z.string().min(1).nullable() }).strict();

/**
 * A directory provider to save (checked whole by the auth room, presets applied there; on an
 * edit, no bindPassword keeps the sealed one).
 */
export const providerInput = z.record(z.string(), z.unknown());

/** Registers /api/v1/identity/… and /api/v1/users/NAME/identity */
export function registerIdentityRoutes(app: RouteTable, auth: AuthService): void {
  app.get('/api/v1/identity/providers', async (req, reply) =>
    json(reply, await auth.identity.list(await apiActor(auth, req, reply))),
  );
  app.post('/api/v1/identity/providers', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    json(reply, await auth.identity.save(actor, bodyOf(providerInput, req)), 201);
  });
  app.put('/api/v1/identity/providers/:name', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    json(reply, await auth.identity.save(actor, bodyOf(providerInput, req), param(req, 'name')));
  });
  app.delete('/api/v1/identity/providers/:name', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    await auth.identity.remove(actor, param(req, 'name'));
    noContent(reply);
  });
  app.post('/api/v1/identity/providers/:name/test', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const { login } = bodyOf(providerTest, req);
    json(reply, await auth.identity.test(actor, param(req, 'name'), login));
  });
  app.put('/api/v1/users/:name/identity', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const { provider } = bodyOf(identityLink, req);
    json(reply, await auth.identity.relink(actor, param(req, 'name'), provider));
  });
  app.post('/api/v1/identity/sync', async (req, reply) =>
    json(reply, await auth.identity.sync(await apiActor(auth, req, reply))),
  );
}
