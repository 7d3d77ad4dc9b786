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
