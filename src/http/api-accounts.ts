/** Management API: the caller, users, organisations, members and teams. */
import type { FastifyRequest } from 'fastify';
import type { RouteTable } from './lazy-routes.js';
import { z } from 'zod';
import type { AuthService, NamespaceDisposal } from '../auth/index.js';
import { BerthError } from '../oci/index.js';
import { apiActor, bodyOf, json, noContent, param, queryParam } from './api-common.js';

const level = z.enum(['read', 'write', 'admin']);
export const newUser = z.object({
  name: z.string(),
  password: z.string(),
  email: z.string().email().nullish(),
  fullName: z.string().max(200).nullish(),
  admin: z.boolean().optional(),
});
export const userChanges = z
  .object({
    password: z.string().optional(),
    currentPassword: z.string().optional(),
    email: z.string().email().nullish(),
    fullName: z.string().max(200).nullish(),
    admin: z.boolean().optional(),
    disabled: z.boolean().optional(),
  })
  .strict();
export const newOrg = z.object({ name: z.string(), owner: z.string().optional() }).strict();
export const orgChanges = z.object({ defaultLevel: level.nullable() }).strict();
export const memberRole = z
  .object({ role: z.enum(['owner', 'member']).default('member') })
  .strict();
export const newTeam = z
  .object({ name: z.string(), description: z.string().max(1000).nullish() })
  .strict();
export const teamLevel = z.object({ level: level.nullable() }).strict();

/**
 * What to do with a deleted account's repositories: `?repositories=delete`, or
 * `?repositories=transfer&to=<account>`; by default the deletion is refused while any exist.
 */
function disposalOf(req: FastifyRequest): NamespaceDisposal {
  const choice = queryParam(req, 'repositories');
  if (choice === undefined) return { repositories: 'refuse' };
  if (choice === 'delete') return { repositories: 'delete' };
  const to = queryParam(req, 'to');
  if (choice === 'transfer' && to) return { repositories: 'transfer', to };
  throw new BerthError(
    'INVALID_REQUEST',
    'repositories must be delete, or transfer with to=<account>',
  );
}

/** Registers the account routes under /api/v1. */
export function registerAccountRoutes(
  app: RouteTable,
  auth: AuthService,
  repositoriesChanged: () => void,
): void {
  const actor = (req: Parameters<typeof apiActor>[1], reply: Parameters<typeof apiActor>[2]) =>
    apiActor(auth, req, reply);

  app.get('/api/v1/me', async (req, reply) => {
    const a = await actor(req, reply);
    const me = await auth.users.get(a, a.principal.name);
    json(reply, {
      ...me,
      orgs: await auth.orgs.list({ ...a, principal: { ...a.principal, admin: false } }),
    });
  });
  app.get('/api/v1/users', async (req, reply) =>
    json(reply, await auth.users.list(await actor(req, reply))),
  );
  app.post('/api/v1/users', async (req, reply) =>
    json(reply, await auth.users.create(await actor(req, reply), bodyOf(newUser, req)), 201),
  );
  app.get('/api/v1/users/:name', async (req, reply) =>
    json(reply, await auth.users.get(await actor(req, reply), param(req, 'name'))),
  );
  app.patch('/api/v1/users/:name', async (req, reply) =>
    json(
      reply,
      await auth.users.update(
        await actor(req, reply),
        param(req, 'name'),
        bodyOf(userChanges, req),
      ),
    ),
  );
  app.delete('/api/v1/users/:name', async (req, reply) => {
    await auth.users.delete(await actor(req, reply), param(req, 'name'), disposalOf(req));
    repositoriesChanged();
    noContent(reply);
  });
  app.get('/api/v1/retired-names', async (req, reply) =>
    json(reply, await auth.users.retiredNames(await actor(req, reply))),
  );
  app.delete('/api/v1/retired-names/:name', async (req, reply) => {
    await auth.users.freeName(await actor(req, reply), param(req, 'name'));
    noContent(reply);
  });

  app.get('/api/v1/orgs', async (req, reply) =>
    json(reply, await auth.orgs.list(await actor(req, reply))),
  );
  app.post('/api/v1/orgs', async (req, reply) => {
    const body = bodyOf(newOrg, req);
    json(reply, await auth.orgs.create(await actor(req, reply), body.name, body.owner), 201);
  });
  app.get('/api/v1/orgs/:org', async (req, reply) =>
    json(reply, await auth.orgs.get(await actor(req, reply), param(req, 'org'))),
  );
  app.patch('/api/v1/orgs/:org', async (req, reply) => {
    const body = bodyOf(orgChanges, req);
    json(
      reply,
      await auth.orgs.setDefaultLevel(
        await actor(req, reply),
        param(req, 'org'),
        body.defaultLevel,
      ),
    );
  });
  app.delete('/api/v1/orgs/:org', async (req, reply) => {
    await auth.orgs.delete(await actor(req, reply), param(req, 'org'), disposalOf(req));
    repositoriesChanged();
    noContent(reply);
  });
  app.put('/api/v1/orgs/:org/members/:user', async (req, reply) => {
    const { role } = bodyOf(memberRole, req);
    await auth.orgs.setMember(await actor(req, reply), param(req, 'org'), param(req, 'user'), role);
    noContent(reply);
  });
  app.delete('/api/v1/orgs/:org/members/:user', async (req, reply) => {
    await auth.orgs.removeMember(await actor(req, reply), param(req, 'org'), param(req, 'user'));
    noContent(reply);
  });

  app.post('/api/v1/orgs/:org/teams', async (req, reply) => {
    const body = bodyOf(newTeam, req);
    json(
      reply,
      await auth.orgs.createTeam(
        await actor(req, reply),
        param(req, 'org'),
        body.name,
        body.description,
      ),
      201,
    );
  });
  app.get('/api/v1/orgs/:org/teams/:team', async (req, reply) =>
    json(
      reply,
      await auth.orgs.getTeam(await actor(req, reply), param(req, 'org'), param(req, 'team')),
    ),
  );
  app.delete('/api/v1/orgs/:org/teams/:team', async (req, reply) => {
    await auth.orgs.deleteTeam(await actor(req, reply), param(req, 'org'), param(req, 'team'));
    noContent(reply);
  });
  app.put('/api/v1/orgs/:org/teams/:team/permission', async (req, reply) => {
    const body = bodyOf(teamLevel, req);
    await auth.orgs.setTeamLevel(
      await actor(req, reply),
      param(req, 'org'),
      param(req, 'team'),
      body.level,
    );
    noContent(reply);
  });
  app.put('/api/v1/orgs/:org/teams/:team/members/:user', async (req, reply) => {
    await auth.orgs.addTeamMember(
      await actor(req, reply),
      param(req, 'org'),
      param(req, 'team'),
      param(req, 'user'),
    );
    noContent(reply);
  });
  app.delete('/api/v1/orgs/:org/teams/:team/members/:user', async (req, reply) => {
    await auth.orgs.removeTeamMember(
      await actor(req, reply),
      param(req, 'org'),
      param(req, 'team'),
      param(req, 'user'),
    );
    noContent(reply);
  });
}
