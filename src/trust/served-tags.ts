/** What the registry serves for each tag of a repository, for the trust status views. */
import { BerthError } from '../oci/index.js';
import type { Registry } from '../registry/index.js';

/** The tags of `repository` with the digest each is served as (at most 1000). */
export async function servedTags(
  registry: Registry,
  repository: string,
): Promise<{ tag: string; digest: string }[]> {
  let names: string[];
  try {
    names = await registry.manifests.tags(repository, 1000);
  } catch (err) {
    if (err instanceof BerthError && err.code === 'NAME_UNKNOWN') return [];
    throw err;
  }
  const out: { tag: string; digest: string }[] = [];
  for (const tag of names)
    out.push({ tag, digest: (await registry.manifests.get(repository, tag)).digest });
  return out;
}
