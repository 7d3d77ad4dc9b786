import assert from 'node:assert/strict';
import { it } from 'node:test';
import Fastify from 'fastify';
import { LazyRouteTable, ROUTE_METHODS, ROUTER_OPTIONS } from './lazy-routes.js';

/** A Fastify server answering `/api/v1/*` from `table`, with a not-found answer of its own. */
function serverOver(table: LazyRouteTable) {
  const app = Fastify({ routerOptions: ROUTER_OPTIONS });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ missing: true }));
  app.route({
    method: [...ROUTE_METHODS],
    url: '/api/v1/*',
    onRequest: table.match,
    handler: table.dispatch,
  });
  return app;
}

it('matches as Fastify would: a static segment before a parameter, parameters decoded, the query apart', async () => {
  const table = new LazyRouteTable();
  table.get('/api/v1/users/:name', async (req) => ({
    user: (req.params as { name: string }).name,
  }));
  table.get('/api/v1/users/me', async () => ({ me: true }));
  table.route({
    method: ['GET', 'DELETE'],
    url: '/api/v1/images/*',
    handler: async (req) => ({ method: req.method, rest: (req.params as { '*': string })['*'] }),
  });
  table.post('/api/v1/echo', async (req) => ({ body: req.body as unknown }));
  const app = serverOver(table);
  const get = async (url: string, method: 'GET' | 'DELETE' = 'GET') =>
    (await app.inject({ method, url })).json<unknown>();
  assert.deepEqual(await get('/api/v1/users/me'), { me: true });
  assert.deepEqual(await get('/api/v1/users/j%C3%BCrgen?x=1'), { user: 'jürgen' });
  assert.deepEqual(await get('/api/v1/images/a/b/tags/v1', 'DELETE'), {
    method: 'DELETE',
    rest: 'a/b/tags/v1',
  });
  const echoed = await app.inject({ method: 'POST', url: '/api/v1/echo', payload: { a: 1 } });
  assert.deepEqual(echoed.json(), { body: { a: 1 } });
  await app.close();
});

it('answers what matches no route, or not with that method, with the server’s not-found answer', async () => {
  const table = new LazyRouteTable();
  table.get('/api/v1/users', async () => []);
  const app = serverOver(table);
  for (const [method, url] of [
    ['GET', '/api/v1/nothing'],
    ['DELETE', '/api/v1/users'],
    ['GET', '/api/v1/users/'],
  ] as const) {
    const res = await app.inject({ method, url });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    assert.deepEqual(res.json(), { missing: true });
  }
  // Answered before its body is read: a malformed body to no route is still not found.
  const malformed = await app.inject({
    method: 'POST',
    url: '/api/v1/nothing',
    headers: { 'content-type': 'application/json' },
    payload: '{bad',
  });
  assert.equal(malformed.statusCode, 404);
  await app.close();
});

it('builds its router on the first request, after which no route may be added', async () => {
  const table = new LazyRouteTable();
  table.get('/api/v1/a', async () => ({ a: true }));
  const app = serverOver(table);
  await app.ready();
  // Nothing was built as the server started: a route can still be added.
  table.get('/api/v1/b', async () => ({ b: true }));
  assert.deepEqual((await app.inject({ url: '/api/v1/b' })).json(), { b: true });
  assert.throws(() => table.get('/api/v1/c', async () => ({})), /after the table was first used/);
  await app.close();
});
