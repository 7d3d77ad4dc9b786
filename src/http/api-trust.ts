/** Management API for content trust: per-tag signature status and signed-tags requirements. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuditSink, AuthService } from '../auth/index.js';
import { BerthError, isValidName } from '../oci/index.js';
import type { Registry } from '../registry/index.js';
import { SIGNER_NAME, parseTrustScope, servedTags, type TrustService } from '../trust/index.js';
import { apiActor, apiPrincipal, bodyOf, json, noContent, param } from './api-common.js';
import { clientAddress } from './auth-edge.js';

export const requirementBody = z
  .object({
    signers: z.array(z.string().regex(SIGNER_NAME)).max(50).default([]),
  })
  .strict();

/** Registers the trust routes of /api/v1. */
export function registerTrustRoutes(
  app: FastifyInstance,
  auth: AuthService,
  trust: TrustService,
  registry: Registry,
  audit: AuditSink | undefined,
): void {
  app.get('/api/v1/signatures/*', async (req, reply) => {
    const repository = param(req, '*');
    const principal = await apiPrincipal(auth, req, reply);
    if (
      !isValidName(repository) ||
      !(await auth.requests.mayRead({ principal, via: 'basic' }, repository))
    )
      throw new BerthError(
        'NOT_FOUND',
        `no repository ${repository.slice(0, 200)} (or it is private)`,
      );
    json(reply, {
      repository,
      ...(await trust.tags.status(repository, await servedTags(registry, repository))),
    });
  });

  app.get('/api/v1/trust/policies', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const all = await trust.tags.listRequirements();
    const mine = [];
    for (const p of all)
      if (await auth.requests.mayAdminister(actor.principal, p.scope)) mine.push(p);
    json(
      reply,
      mine.map((p) => ({
        scope: p.scope,
        signers: p.signers,
        createdBy: p.createdBy,
        createdAt: new Date(p.createdAt).toISOString(),
      })),
    );
  });

  app.route({
    method: ['PUT', 'DELETE'],
    url: '/api/v1/trust/policies/*',
    handler: async (req, reply) => {
      const actor = await apiActor(auth, req, reply);
      const scope = parseTrustScope(param(req, '*'));
      if (!(await auth.requests.mayAdminister(actor.principal, scope)))
        throw new BerthError(
          'DENIED',
          `changing the signing requirement of ${scope} needs admin rights on it`,
        );
      if (req.method === 'PUT') {
        const { signers } = bodyOf(requirementBody, req);
        await trust.tags.require(scope, signers, actor.principal.name);
        await audit?.record({
          actor: actor.principal.name,
          action: 'trust.require',
          target: scope,
          outcome: 'success',
          address: clientAddress(req),
          detail: { signers },
        });
        return json(reply, { scope, signers });
      }
      if (!(await trust.tags.unrequire(scope)))
        throw new BerthError('NOT_FOUND', `${scope} has no signing requirement`);
      await audit?.record({
        actor: actor.principal.name,
        action: 'trust.unrequire',
        target: scope,
        outcome: 'success',
        address: clientAddress(req),
        detail: {},
      });
      return noContent(reply);
    },
  });
}
