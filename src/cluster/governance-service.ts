/** Who may do what where: collections of nodes and containers, their grants, admission policies. */
import type { Actor } from '../auth/index.js';
import { BerthError } from '../oci/index.js';
import { ControlAccess, type ControlLevel } from './access.js';
import { PlaneBase } from './plane-base.js';

/** GovernanceService. */
export class GovernanceService extends PlaneBase {
  /** Every collection with its grants (team names). */
  async collections(actor: Actor) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'see collections');
    const teams = new Map<number, string>();
    for (const org of await this.meta.accounts.list('org'))
      for (const t of await this.meta.teams.list(org.id)) teams.set(t.id, `${org.name}/${t.name}`);
    return (await this.meta.cluster.collections()).map((c) => ({
      ...c,
      grants: c.grants.map((g) => ({
        team: teams.get(g.teamId) ?? String(g.teamId),
        level: g.level,
      })),
    }));
  }

  /** Saves a collection. */
  async putCollection(
    actor: Actor,
    name: string,
    nodeLabels: Record<string, string>,
    containerLabels: Record<string, string>,
  ) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'change collections');
    await this.audited(actor, 'cluster.collection.put', name, { nodeLabels, containerLabels }, () =>
      this.meta.cluster.putCollection(name, nodeLabels, containerLabels),
    );
  }

  /** Removes a collection and its grants. */
  async removeCollection(actor: Actor, name: string) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'change collections');
    const removed = await this.audited(actor, 'cluster.collection.remove', name, {}, () =>
      this.meta.cluster.removeCollection(name),
    );
    if (!removed) throw new BerthError('NOT_FOUND', `no collection ${name}`);
  }

  /** Grants team `org/team` `level` on a collection (null takes it away). */
  async grant(actor: Actor, collection: string, team: string, level: ControlLevel | null) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'grant collections');
    const [orgName, teamName] = team.split('/');
    const org = orgName ? await this.meta.accounts.byName(orgName) : undefined;
    const found = org && teamName ? await this.meta.teams.byName(org.id, teamName) : undefined;
    if (!found) throw new BerthError('NOT_FOUND', `no team ${team} (org/team)`);
    if (!(await this.meta.cluster.collections()).some((c) => c.name === collection))
      throw new BerthError('NOT_FOUND', `no collection ${collection}`);
    await this.audited(actor, 'cluster.grant', collection, { team, level }, () =>
      this.meta.cluster.setGrant(collection, found.id, level),
    );
  }

  /** Every admission policy. */
  async policies(actor: Actor) {
    await ControlAccess.of(this.meta, actor);
    return this.meta.cluster.policies();
  }

  /** Sets the admission policy of `scope` (`namespace:NS` or `collection:NAME`). */
  async putPolicy(
    actor: Actor,
    scope: string,
    policy: { signedOnly: boolean; signers: string[]; berthOnly: boolean },
  ) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'set admission policies');
    if (!/^(namespace|collection):[a-z0-9][a-z0-9._-]*$/.test(scope))
      throw new BerthError(
        'INVALID_REQUEST',
        'a policy scope is namespace:NAME or collection:NAME',
      );
    await this.audited(actor, 'cluster.policy.put', scope, policy, () =>
      this.meta.cluster.putPolicy({
        scope,
        ...policy,
        createdBy: actor.principal.name,
        createdAt: Date.now(),
      }),
    );
  }

  /** Lifts the admission policy of `scope`. */
  async removePolicy(actor: Actor, scope: string) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'set admission policies');
    const removed = await this.audited(actor, 'cluster.policy.remove', scope, {}, () =>
      this.meta.cluster.removePolicy(scope),
    );
    if (!removed) throw new BerthError('NOT_FOUND', `no policy on ${scope}`);
  }
}
