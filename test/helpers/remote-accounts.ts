/** Setting up accounts on a spawned Berth through its management API over HTTP. */
import assert from 'node:assert/strict';

/** Calls `url` + `path` on the management API with Basic `user`:`password`; asserts a 2xx answer. */
export async function remoteApi(
  url: string,
  auth: { user: string; password: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** A caller of `url` + `path` as `user` (Basic auth) that answers the raw response, JSON bodies sent as such. */
export function apiCaller(
  url: string,
  user: string,
  password: string,
): (method: string, path: string, body?: unknown) => Promise<Response> {
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return (method, path, body) =>
    fetch(`${url}${path}`, {
      method,
      headers: {
        authorization,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
}
