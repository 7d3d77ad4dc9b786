/** Replication rules for administrators: save, list, run by hand, and read executions. */
import { actsAsAdmin, type Actor, type AuditSink } from '../auth/index.js';
import type { Meta } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { ruleSettings } from './rules.js';

/** Replication rules and executions. */
export class ReplicationAdmin {
  constructor(
    private readonly meta: Meta,
    private readonly audit: AuditSink,
    /** Wakes the replicator (a run was queued). */
    private readonly wake: () => void,
  ) {}

  private requireAdmin(actor: Actor): void {
    if (!actsAsAdmin(actor.principal))
      throw new BerthError('DENIED', 'only administrators may manage replication');
  }

  /** Every rule with its settings. */
  async rules(actor: Actor) {
    this.requireAdmin(actor);
    return this.meta.replication.rules();
  }

  /** Saves rule `name`; the local side acts as the caller unless `actAs` says otherwise. */
  async putRule(actor: Actor, name: string, input: Record<string, unknown>, enabled = true) {
    this.requireAdmin(actor);
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name))
      throw new BerthError('INVALID_REQUEST', 'rule names are a-z, 0-9 and - (up to 64)');
    const caller = actor.principal.id > 0 ? actor.principal.name : undefined;
    const parsed = ruleSettings.safeParse({ ...(caller ? { actAs: caller } : {}), ...input });
    if (!parsed.success)
      throw new BerthError(
        'INVALID_REQUEST',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`).join('; '),
      );
    if (!(await this.meta.cache.upstreams()).some((u) => u.name === parsed.data.upstream))
      throw new BerthError('NOT_FOUND', `no upstream ${parsed.data.upstream}`);
    await this.meta.replication.putRule(name, parsed.data, enabled, actor.principal.name);
    await this.audit.record({
      actor: actor.principal.name,
      action: 'replication.rule.put',
      target: name,
      outcome: 'success',
      address: actor.address,
      detail: { ...parsed.data },
    });
    this.wake();
  }

  /** Removes rule `name`. */
  async removeRule(actor: Actor, name: string): Promise<void> {
    this.requireAdmin(actor);
    if (!(await this.meta.replication.removeRule(name)))
      throw new BerthError('NOT_FOUND', `no rule ${name}`);
    await this.audit.record({
      actor: actor.principal.name,
      action: 'replication.rule.delete',
      target: name,
      outcome: 'success',
      address: actor.address,
    });
  }

  /** Queues a run of rule `name` now; the execution's id. */
  async run(actor: Actor, name: string): Promise<{ execution: number }> {
    this.requireAdmin(actor);
    const rule = (await this.meta.replication.rules()).find((r) => r.name === name);
    if (!rule) throw new BerthError('NOT_FOUND', `no rule ${name}`);
    const execution = await this.meta.writeTransaction((tx) =>
      tx.replication.queue(rule.id, 'manual', null),
    );
    this.wake();
    return { execution };
  }

  /** Executions, newest first (of rule `name` when given). */
  async executions(actor: Actor, name?: string) {
    this.requireAdmin(actor);
    const rule = name
      ? (await this.meta.replication.rules()).find((r) => r.name === name)
      : undefined;
    if (name && !rule) throw new BerthError('NOT_FOUND', `no rule ${name}`);
    return this.meta.replication.executions(rule?.id);
  }

  /** One execution with its items and log. */
  async execution(actor: Actor, id: number) {
    this.requireAdmin(actor);
    const found = await this.meta.replication.execution(id);
    if (!found) throw new BerthError('NOT_FOUND', `no execution ${id}`);
    return found;
  }
}
