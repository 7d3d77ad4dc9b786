/**
 * A blob read from an upstream through whichever of its URLs answers, resuming a broken transfer
 * from the byte reached (five times at most) and paced to the upstream's bandwidth limit.
 */
import type { Readable } from 'node:stream';
import { resumingStream, type RegistryClient } from '../client/index.js';

/**
 * The bytes of blob `digest` of `repository` from the upstream (through `use`, which picks a
 * reachable URL), and its size as the first answer says it.
 */
export async function resumableBlob(
  use: <T>(work: (client: RegistryClient) => Promise<T>) => Promise<T>,
  repository: string,
  digest: string,
  bytesPerSecond: number | null,
): Promise<{ size: number; body: Readable }> {
  const first = await use((c) => c.blobFrom(repository, digest, 0));
  if (first.size === undefined) throw new Error(`the upstream did not say how large ${digest} is`);
  const reopen = async (offset: number) =>
    (await use((c) => c.blobFrom(repository, digest, offset))).body;
  const body = resumingStream(first.body, first.size, reopen, {
    what: `the upstream's ${digest}`,
    resumes: 5,
    bytesPerSecond,
  });
  return { size: first.size, body };
}
