/** Registry calls over real HTTP (fetch), for tests against a spawned server. */
import assert from 'node:assert/strict';
import type { TestBlob } from './content.js';

/** Uploads a blob monolithically (`POST …/uploads/?digest=`) and asserts 201. */
export async function pushBlobOverHttp(url: string, name: string, b: TestBlob): Promise<void> {
  const res = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${b.digest}`, {
    method: 'POST',
    body: Uint8Array.from(b.bytes),
  });
  assert.equal(res.status, 201);
}

/** Pushes an OCI manifest under `reference`; returns the status. */
export async function putManifestOverHttp(
  url: string,
  name: string,
  reference: string,
  m: TestBlob,
): Promise<number> {
  const res = await fetch(`${url}/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: Uint8Array.from(m.bytes),
  });
  return res.status;
}
