/**
 * Quotas under /api/v1/quotas: administrators list, set and remove them; a namespace's or
 * repository's administrators read its usage at /api/v1/quotas/usage?kind=&scope=.
 */
import { z } from 'zod';
import type { RouteTable } from './lazy-routes.js';
import type { AuthService } from '../auth/index.js';
import { parseBytes } from '../kit/index.js';
import type { QuotaService } from '../manage/index.js';
import { BerthError } from '../oci/index.js';
import { apiActor, bodyOf, json, noContent, queryParam } from './api-common.js';

const kind = z.enum(['global', 'namespace', 'repository']);
const bytes = z
  .union([z.number().int().min(0), z.string().max(40)])
  .nullable()
  .default(null)
  .transform((v, ctx) => {
    if (typeof v !== 'string') return v;
    const parsed = parseBytes(v);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `${v} is not a size (e.g. 500MiB, 2GB)` });
      return z.NEVER;
    }
    return parsed;
  });
const count = z.number().int().min(0).nullable().default(null);

/** A quota to set: sizes in bytes or with units (`2GiB`), counts as numbers; null for no limit. */
export const quotaBody = z
  .object({
    kind,
    scope: z.string().max(255).default(''),
    storageSoft: bytes,
    storageHard: bytes,
    repositoriesMax: count,
    tagsMax: count,
  })
  .strict();

function scopeOf(req: Parameters<typeof queryParam>[0]) {
  const parsed = kind.safeParse(queryParam(req, 'kind'));
  if (!parsed.success)
    throw new BerthError('INVALID_REQUEST', 'kind is global, namespace or repository');
  return { kind: parsed.data, scope: queryParam(req, 'scope') ?? '' };
}

/** Registers the quota routes. */
export function registerQuotaRoutes(
  app: RouteTable,
  auth: AuthService,
  quotas: QuotaService,
): void {
  app.get('/api/v1/quotas', async (req, reply) => {
    json(reply, await quotas.list(await apiActor(auth, req, reply)));
  });
  app.get('/api/v1/quotas/usage', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const { kind: k, scope } = scopeOf(req);
    json(reply, await quotas.usage(actor, k, scope));
  });
  app.put('/api/v1/quotas', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const { kind: k, scope, ...limits } = bodyOf(quotaBody, req);
    json(reply, await quotas.set(actor, k, scope, limits));
  });
  app.delete('/api/v1/quotas', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const { kind: k, scope } = scopeOf(req);
    await quotas.remove(actor, k, scope);
    noContent(reply);
  });
}
