/** Short-hands for registry API calls through Fastify `inject()`. */
import type { Readable } from 'node:stream';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { TestBlob } from './content.js';

/** Uploads a blob monolithically (POST then PUT with the body) and asserts 201. */
export async function pushBlob(app: FastifyInstance, name: string, b: TestBlob): Promise<void> {
  const start = await app.inject({ method: 'POST', url: `/v2/${name}/blobs/uploads/` });
  assert.equal(start.statusCode, 202, start.body);
  const done = await app.inject({
    method: 'PUT',
    url: `${start.headers.location}?digest=${b.digest}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: b.bytes,
  });
  assert.equal(done.statusCode, 201, done.body);
}

/**
 * Uploads a blob the way docker, skopeo and podman do: POST, one PATCH with all its bytes, then
 * a PUT with the digest and no body; asserts 202 and 201.
 */
export async function pushBlobPatched(
  app: FastifyInstance,
  name: string,
  b: TestBlob,
): Promise<void> {
  const start = await app.inject({ method: 'POST', url: `/v2/${name}/blobs/uploads/` });
  assert.equal(start.statusCode, 202, start.body);
  const patch = await patchUpload(app, start.headers.location as string, b.bytes);
  assert.equal(patch.statusCode, 202, patch.body);
  const done = await app.inject({
    method: 'PUT',
    url: `${patch.headers.location as string}?digest=${b.digest}`,
  });
  assert.equal(done.statusCode, 201, done.body);
}

/** PATCHes `payload` onto the upload at `location` (a stream goes with no length, as docker sends). */
export function patchUpload(
  app: FastifyInstance,
  location: string,
  payload: Buffer | Readable,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'PATCH',
    url: location,
    headers: { 'content-type': 'application/octet-stream' },
    payload,
  });
}

/** Pushes a manifest under `reference` and returns the response. */
export function putManifest(
  app: FastifyInstance,
  name: string,
  reference: string,
  m: TestBlob,
  mediaType = 'application/vnd.oci.image.manifest.v1+json',
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'PUT',
    url: `/v2/${name}/manifests/${reference}`,
    headers: { 'content-type': mediaType },
    payload: m.bytes,
  });
}

/** The first error code of an OCI error body. */
export function errorCode(res: LightMyRequestResponse): string {
  const body = JSON.parse(res.body) as { errors: { code: string }[] };
  return body.errors[0]!.code;
}
