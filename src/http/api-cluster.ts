/**
 * The control plane's API under /api/v1/cluster: joining (a node's token is its credential),
 * nodes, the inventory across them, containers (run, act, logs and stats, followed live), Swarm
 * services, admission dry runs, collections with their grants, and admission policies.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteTable } from './lazy-routes.js';
import { z } from 'zod';
import type { AuthService } from '../auth/index.js';
import { LEVELS, type ControlPlane } from '../cluster/index.js';
import { BerthError } from '../oci/index.js';
import { clientAddress } from './auth-edge.js';
import { apiActor, bodyOf, json, noContent, param, queryParam } from './api-common.js';

const labels = z.record(z.string().min(1).max(128), z.string().max(1024));
const name = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, 'letters, digits, . _ - (up to 63)');

/** A node joining with a token. */
export const joinRequest = z
  .object({
    token: z.string().min(1).max(200),
    name,
    labels: labels.default({}),
    publicKey: z.string().min(1).max(4096),
  })
  .strict();

/** Changes to a node. */
export const nodeChange = z
  .object({ labels: labels.optional(), availability: z.enum(['active', 'drain']).optional() })
  .strict();

/** A container to run. */
export const runRequest = z
  .object({
    image: z.string().min(1).max(512),
    node: z.string().min(1).max(128).optional(),
    constraints: labels.optional(),
    name: name.optional(),
    command: z.array(z.string().max(4096)).max(256).optional(),
    env: z.array(z.string().max(8192)).max(256).optional(),
    labels: labels.optional(),
    network: z.string().min(1).max(128).optional(),
  })
  .strict();

/** A Swarm service to deploy. */
export const serviceRequest = z
  .object({
    image: z.string().min(1).max(512),
    name,
    replicas: z.number().int().min(0).max(1000).default(1),
    command: z.array(z.string().max(4096)).max(256).optional(),
    labels: labels.optional(),
  })
  .strict();

/** A new replica count. */
export const scaleRequest = z.object({ replicas: z.number().int().min(0).max(1000) }).strict();

/** An admission dry run. */
export const admissionRequest = z
  .object({ image: z.string().min(1).max(512), node: z.string().min(1).optional() })
  .strict();

/** A collection's selectors. */
export const collectionBody = z
  .object({ nodeLabels: labels.default({}), containerLabels: labels.default({}) })
  .strict();

/** A team's level on a collection (null takes it away). */
export const grantBody = z
  .object({ team: z.string().min(3).max(200), level: z.enum(LEVELS).nullable() })
  .strict();

/** An admission policy. */
export const policyBody = z
  .object({
    signedOnly: z.boolean().default(false),
    signers: z.array(z.string().min(1).max(255)).max(50).default([]),
    berthOnly: z.boolean().default(false),
  })
  .strict();

const tailOf = (req: FastifyRequest) => {
  const tail = Number(queryParam(req, 'tail') ?? '200');
  if (!Number.isInteger(tail) || tail < 0 || tail > 100_000)
    throw new BerthError('INVALID_REQUEST', 'tail is a whole number up to 100000');
  return tail;
};

/** Streams a container's logs (text) or stats (one JSON per line) until either side stops. */
async function follow(
  plane: ControlPlane,
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
  what: 'logs' | 'stats',
): Promise<void> {
  const actor = await apiActor(auth, req, reply);
  const out = reply.raw;
  let started = false;
  const stream = await plane.workloads.follow(
    actor,
    param(req, 'node'),
    param(req, 'id'),
    what,
    tailOf(req),
    (data) => {
      if (!started) return;
      out.write(what === 'stats' ? `${data}\n` : data);
    },
  );
  reply.hijack();
  started = true;
  out.writeHead(200, {
    'content-type':
      what === 'stats' ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  out.on('close', () => stream.cancel());
  stream.finished.then(
    () => out.end(),
    (err: Error) => out.end(`\n[berth: ${err.message}]\n`),
  );
}

/** Registers the node join endpoint (no account: the join token is the credential). */
export function registerClusterJoin(app: FastifyInstance, plane: ControlPlane): void {
  app.post('/api/v1/cluster/join', async (req, reply) => {
    const body = bodyOf(joinRequest, req);
    json(reply, await plane.nodes.join(body, clientAddress(req)), 201);
  });
}

/** Registers /api/v1/cluster/… (accounts). */
export function registerClusterRoutes(
  app: RouteTable,
  auth: AuthService,
  plane: ControlPlane,
): void {
  const actor = (req: FastifyRequest, reply: FastifyReply) => apiActor(auth, req, reply);
  app.get('/api/v1/cluster/join-token', async (req, reply) =>
    json(reply, await plane.nodes.joinToken(await actor(req, reply), false)),
  );
  app.post('/api/v1/cluster/join-token/rotate', async (req, reply) =>
    json(reply, await plane.nodes.joinToken(await actor(req, reply), true)),
  );
  app.get('/api/v1/cluster/nodes', async (req, reply) =>
    json(reply, await plane.nodes.nodes(await actor(req, reply))),
  );
  app.get('/api/v1/cluster/nodes/:node', async (req, reply) =>
    json(reply, await plane.nodes.node(await actor(req, reply), param(req, 'node'))),
  );
  app.patch('/api/v1/cluster/nodes/:node', async (req, reply) => {
    const who = await actor(req, reply);
    json(reply, await plane.nodes.updateNode(who, param(req, 'node'), bodyOf(nodeChange, req)));
  });
  app.delete('/api/v1/cluster/nodes/:node', async (req, reply) => {
    const who = await actor(req, reply);
    await plane.nodes.removeNode(who, param(req, 'node'), queryParam(req, 'revoke') === 'true');
    noContent(reply);
  });
  app.get('/api/v1/cluster/containers', async (req, reply) => {
    const who = await actor(req, reply);
    json(
      reply,
      await plane.workloads.containers(who, {
        node: queryParam(req, 'node'),
        state: queryParam(req, 'state'),
        q: queryParam(req, 'q'),
        repository: queryParam(req, 'repository'),
      }),
    );
  });
  app.post('/api/v1/cluster/containers', async (req, reply) => {
    const who = await actor(req, reply);
    json(reply, await plane.workloads.run(who, bodyOf(runRequest, req)), 201);
  });
  for (const action of ['start', 'stop', 'restart'] as const)
    app.post(`/api/v1/cluster/containers/:node/:id/${action}`, async (req, reply) => {
      const who = await actor(req, reply);
      await plane.workloads.containerAction(who, param(req, 'node'), param(req, 'id'), action);
      noContent(reply);
    });
  app.delete('/api/v1/cluster/containers/:node/:id', async (req, reply) => {
    const who = await actor(req, reply);
    await plane.workloads.containerAction(who, param(req, 'node'), param(req, 'id'), 'remove');
    noContent(reply);
  });
  app.get('/api/v1/cluster/containers/:node/:id/logs', async (req, reply) => {
    if (queryParam(req, 'follow') === 'true') return follow(plane, auth, req, reply, 'logs');
    const who = await actor(req, reply);
    const text = await plane.workloads.logs(who, param(req, 'node'), param(req, 'id'), tailOf(req));
    reply.code(200).header('content-type', 'text/plain; charset=utf-8').send(text);
  });
  app.get('/api/v1/cluster/containers/:node/:id/stats', async (req, reply) => {
    if (queryParam(req, 'stream') === 'true') return follow(plane, auth, req, reply, 'stats');
    const who = await actor(req, reply);
    json(reply, await plane.workloads.stats(who, param(req, 'node'), param(req, 'id')));
  });
  for (const kind of ['images', 'networks', 'volumes'] as const)
    app.get(`/api/v1/cluster/${kind}`, async (req, reply) =>
      json(
        reply,
        await plane.workloads.inventory(await actor(req, reply), kind, queryParam(req, 'node')),
      ),
    );
  app.get('/api/v1/cluster/services', async (req, reply) =>
    json(reply, await plane.workloads.services(await actor(req, reply))),
  );
  app.post('/api/v1/cluster/services', async (req, reply) => {
    const who = await actor(req, reply);
    json(reply, await plane.workloads.createService(who, bodyOf(serviceRequest, req)), 201);
  });
  app.post('/api/v1/cluster/services/:name/scale', async (req, reply) => {
    const who = await actor(req, reply);
    const { replicas } = bodyOf(scaleRequest, req);
    json(reply, await plane.workloads.scaleService(who, param(req, 'name'), replicas));
  });
  app.post('/api/v1/cluster/admission', async (req, reply) => {
    const who = await actor(req, reply);
    const { image, node } = bodyOf(admissionRequest, req);
    json(reply, await plane.workloads.admit(who, image, node));
  });
  app.get('/api/v1/cluster/collections', async (req, reply) =>
    json(reply, await plane.governance.collections(await actor(req, reply))),
  );
  app.put('/api/v1/cluster/collections/:name', async (req, reply) => {
    const who = await actor(req, reply);
    const body = bodyOf(collectionBody, req);
    await plane.governance.putCollection(
      who,
      param(req, 'name'),
      body.nodeLabels,
      body.containerLabels,
    );
    noContent(reply);
  });
  app.delete('/api/v1/cluster/collections/:name', async (req, reply) => {
    await plane.governance.removeCollection(await actor(req, reply), param(req, 'name'));
    noContent(reply);
  });
  app.put('/api/v1/cluster/collections/:name/grants', async (req, reply) => {
    const who = await actor(req, reply);
    const { team, level } = bodyOf(grantBody, req);
    await plane.governance.grant(who, param(req, 'name'), team, level);
    noContent(reply);
  });
  app.get('/api/v1/cluster/policies', async (req, reply) =>
    json(reply, await plane.governance.policies(await actor(req, reply))),
  );
  app.put('/api/v1/cluster/policies/:scope', async (req, reply) => {
    const who = await actor(req, reply);
    await plane.governance.putPolicy(who, param(req, 'scope'), bodyOf(policyBody, req));
    noContent(reply);
  });
  app.delete('/api/v1/cluster/policies/:scope', async (req, reply) => {
    await plane.governance.removePolicy(await actor(req, reply), param(req, 'scope'));
    noContent(reply);
  });
}
