/** Short-hands for the management API and the token endpoint through Fastify `inject()`. */
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { basic, TEST_ADMIN_PASSWORD } from './in-process.js';

/** The administrator's Basic credentials in test apps. */
export const ADMIN = basic('admin', TEST_ADMIN_PASSWORD);

/** The password every test user gets. */
export const USER_PASSWORD = 'user-password-1';

/** Calls the management API as `authorization` (or anonymously). */
export function api(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  authorization?: string,
  body?: unknown,
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return app.inject({
    method,
    url,
    headers,
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Calls the management API and asserts the status. */
export async function apiOk(
  app: FastifyInstance,
  status: number,
  ...args: Parameters<typeof api> extends [unknown, ...infer R] ? R : never
): Promise<LightMyRequestResponse> {
  const res = await api(app, ...args);
  assert.equal(res.statusCode, status, `${args[0]} ${args[1]}: ${res.body}`);
  return res;
}

/** Creates users with USER_PASSWORD and returns their Basic credentials by name. */
export async function createUsers(
  app: FastifyInstance,
  names: string[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names) {
    await apiOk(app, 201, 'POST', '/api/v1/users', ADMIN, { name, password: USER_PASSWORD });
    out[name] = basic(name, USER_PASSWORD);
  }
  return out;
}

/** A registry token for `scopes` from GET /token as `authorization` (or anonymous). */
export async function fetchToken(
  app: FastifyInstance,
  scopes: string[],
  authorization?: string,
): Promise<string> {
  const query = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&');
  const res = await app.inject({
    method: 'GET',
    url: `/token?service=berth&${query}`,
    headers: authorization ? { authorization } : {},
  });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { token: string }).token;
}
