/**
 * What happens to a namespace when its account goes, and who may claim a name: an account's
 * repositories are never left for the next holder of its name, and a deleted account's name
 * stays reserved until an administrator frees it.
 */
import type { Meta } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import type { Actor } from './directory-common.js';
import { actsAsAdmin } from './principal.js';

/** What to do with the repositories of an account being deleted. */
export type NamespaceDisposal =
  | { repositories: 'refuse' }
  | { repositories: 'delete' }
  | { repositories: 'transfer'; to: string };

const LISTED = 20;

/** The repositories under `name/`, at most `limit`. */
async function repositoriesUnder(meta: Meta, name: string, limit: number): Promise<string[]> {
  return (await meta.repositories.listInfo({ limit, namespace: name })).map((r) => r.name);
}

/**
 * Throws CONFLICT unless `actor` may create an account called `name`: a retired name stays
 * reserved (for everyone, until freed), and a name whose namespace already holds repositories
 * is for administrators only.
 */
export async function refuseNameTakeover(meta: Meta, actor: Actor, name: string): Promise<void> {
  if (await meta.retiredNames.find(name))
    throw new BerthError(
      'CONFLICT',
      `the name ${name} belonged to a deleted account and stays reserved; an administrator may free it`,
    );
  if (actsAsAdmin(actor.principal)) return;
  if ((await repositoriesUnder(meta, name, 1)).length > 0)
    throw new BerthError(
      'CONFLICT',
      `the name ${name} is taken by existing repositories; ask an administrator`,
    );
}

/**
 * Inside a write transaction: disposes of the repositories under `name/` as `disposal` says
 * (refuse: CONFLICT listing them; delete; transfer to account `to`, refusing name clashes), then
 * retires the name. Returns the repositories deleted or moved.
 */
export async function disposeNamespace(
  tx: Meta,
  actor: Actor,
  name: string,
  kind: 'user' | 'org',
  disposal: NamespaceDisposal,
): Promise<Disposed> {
  const held = await repositoriesUnder(tx, name, 1_000_000);
  const result = { deleted: [] as string[], moved: [] as string[] };
  if (held.length > 0 && disposal.repositories === 'refuse') {
    const listed = held.slice(0, LISTED).join(', ');
    const more = held.length > LISTED ? ` and ${held.length - LISTED} more` : '';
    throw new BerthError(
      'CONFLICT',
      `${name} still owns repositories (${listed}${more}); delete them or transfer them to another account`,
      { repositories: held.slice(0, 100) },
    );
  }
  if (held.length > 0 && disposal.repositories === 'delete') {
    for (const repository of held) {
      await tx.repositories.delete(repository);
      await dropTrustData(tx, repository);
      await tx.webhooks.deleteScope('repository', repository);
      await tx.builds.deleteConfig(repository);
    }
    result.deleted = held;
  }
  if (held.length > 0 && disposal.repositories === 'transfer') {
    if (!actsAsAdmin(actor.principal))
      throw new BerthError('DENIED', 'only administrators may transfer repositories');
    const to = disposal.to;
    const target = await tx.accounts.byName(to);
    if (!target || to === name)
      throw new BerthError('INVALID_REQUEST', `cannot transfer to ${to}: no such other account`);
    const clashes = [];
    for (const repository of held)
      if (await tx.repositories.find(`${to}/${repository.slice(name.length + 1)}`))
        clashes.push(repository);
    if (clashes.length > 0)
      throw new BerthError(
        'CONFLICT',
        `${to} already has repositories named like ${clashes.slice(0, LISTED).join(', ')}`,
      );
    // Neither trust data nor webhooks follow a repository to its new owner.
    for (const repository of held) {
      await dropTrustData(tx, repository);
      await tx.webhooks.deleteScope('repository', repository);
      await tx.builds.deleteConfig(repository);
    }
    result.moved = await tx.repositories.moveNamespace(name, to);
  }
  await tx.webhooks.deleteScope('namespace', name);
  await tx.retiredNames.retire(name, kind, actor.principal.name);
  return result;
}

/** What became of a deleted account's repositories. */
export interface Disposed {
  deleted: string[];
  moved: string[];
}

/** Trust data names a repository by its GUN: it does not follow a repository that moves or goes. */
async function dropTrustData(tx: Meta, repository: string): Promise<void> {
  for (const gun of await tx.trust.gunsOf(repository)) await tx.trust.deleteGun(gun, Date.now());
}
