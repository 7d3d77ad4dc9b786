/** Immutable-tag rules under /api/v1/immutable-tags (administrators change them; anyone signed in reads). */
import { z } from 'zod';
import type { RouteTable } from './lazy-routes.js';
import type { AuthService } from '../auth/index.js';
import type { ImmutabilityService } from '../manage/index.js';
import { BerthError } from '../oci/index.js';
import { apiActor, bodyOf, json, noContent, param } from './api-common.js';

/** A new immutable-tag rule. */
export const immutableRule = z
  .object({
    scope: z.string().min(1).max(255),
    patterns: z.array(z.string().min(1).max(200)).min(1).max(20).default(['.*']),
    exclusions: z.array(z.string().min(1).max(200)).max(20).default([]),
  })
  .strict();

/** Registers the immutable-tag rule routes. */
export function registerImmutableRoutes(
  app: RouteTable,
  auth: AuthService,
  immutability: ImmutabilityService,
): void {
  app.get('/api/v1/immutable-tags', async (req, reply) => {
    await apiActor(auth, req, reply);
    json(reply, await immutability.rules());
  });
  app.post('/api/v1/immutable-tags', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    json(reply, await immutability.add(actor, bodyOf(immutableRule, req)), 201);
  });
  app.delete('/api/v1/immutable-tags/:id', async (req, reply) => {
    const id = Number(param(req, 'id'));
    if (!Number.isInteger(id)) throw new BerthError('INVALID_REQUEST', 'a rule id is a number');
    await immutability.remove(await apiActor(auth, req, reply), id);
    noContent(reply);
  });
}
