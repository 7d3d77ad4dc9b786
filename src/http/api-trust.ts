/** Management API for content trust: per-tag signature status and signed-tags requirements. */
import { z } from 'zod';
import type { RouteTable } from './lazy-routes.js';
import type { AuditSink, AuthService } from '../auth/index.js';
import { BerthError, isValidName } from '../oci/index.js';
import type { Registry } from '../registry/index.js';
import { SIGNER_NAME, parseTrustScope, servedTags, type TrustService } from '../trust/index.js';
import { apiActor, apiPrincipal, bodyOf, json, noContent, param } from './api-common.js';
import { clientAddress } from './auth-edge.js';

const KINDS = ['notary', 'cosign', 'notation'] as const;

/**
 * A signed-tags requirement: signatures of `kinds` count (all three by default); with `signers`
 * named, `threshold` of them (all by default) must have signed; `mode` says what an unmet
 * requirement does to a pull.
 */
export const requirementBody = z
  .object({
    signers: z.array(z.string().regex(SIGNER_NAME)).max(50).default([]),
    kinds: z
      .array(z.enum(KINDS))
      .min(1)
      .max(3)
      .default([...KINDS]),
    threshold: z.number().int().min(1).max(50).nullable().default(null),
    mode: z.enum(['enforce', 'warn', 'audit']).default('enforce'),
  })
  .strict()
  .refine((r) => r.threshold === null || r.threshold <= r.signers.length, {
    message: 'threshold is at most the number of signers named',
  });

/** A key that verifies signatures: a cosign public key or a Notation trust-store certificate. */
export const verificationKeyBody = z
  .object({
    scope: z.string().min(1).max(255),
    kind: z.enum(['cosign', 'notation']),
    name: z.string().regex(SIGNER_NAME),
    pem: z.string().min(1).max(20_000),
  })
  .strict();

/** Registers the trust routes of /api/v1. */
export function registerTrustRoutes(
  app: RouteTable,
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
        kinds: p.kinds,
        threshold: p.threshold,
        mode: p.mode,
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
        const settings = bodyOf(requirementBody, req);
        await trust.tags.require(scope, settings, actor.principal.name);
        await audit?.record({
          actor: actor.principal.name,
          action: 'trust.require',
          target: scope,
          outcome: 'success',
          address: clientAddress(req),
          detail: { ...settings },
        });
        return json(reply, { scope, ...settings });
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

  app.get('/api/v1/trust/keys', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const mine = [];
    for (const k of await trust.keys.list())
      if (await auth.requests.mayAdminister(actor.principal, k.scope)) mine.push(k);
    json(reply, mine);
  });

  app.post('/api/v1/trust/keys', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const body = bodyOf(verificationKeyBody, req);
    const scope = parseTrustScope(body.scope);
    if (!(await auth.requests.mayAdminister(actor.principal, scope)))
      throw new BerthError('DENIED', `adding signature keys to ${scope} needs admin rights on it`);
    const key = await trust.keys.add(scope, body.kind, body.name, body.pem, actor.principal.name);
    await audit?.record({
      actor: actor.principal.name,
      action: 'trust.key.add',
      target: scope,
      outcome: 'success',
      address: clientAddress(req),
      detail: { id: key.id, kind: key.kind, name: key.name, fingerprint: key.fingerprint },
    });
    json(reply, key, 201);
  });

  app.delete('/api/v1/trust/keys/:id', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const id = Number(param(req, 'id'));
    const key = (await trust.keys.list()).find((k) => k.id === id);
    if (!key || !(await auth.requests.mayAdminister(actor.principal, key.scope)))
      throw new BerthError('NOT_FOUND', `no signature key ${String(id).slice(0, 20)}`);
    await trust.keys.remove(id);
    await audit?.record({
      actor: actor.principal.name,
      action: 'trust.key.remove',
      target: key.scope,
      outcome: 'success',
      address: clientAddress(req),
      detail: { id, kind: key.kind, name: key.name },
    });
    noContent(reply);
  });
}
