/**
 * Retention for administrators of a scope: policies on a repository or namespace (its
 * administrators, or the registry's, manage them), runs by hand or dry, the runs' reports, the
 * trash and restoring from it. Changes are audited; the tags a run removes are events.
 */
import { actsAsAdmin, type Actor, type AuditSink, type AuthService } from '../auth/index.js';
import type {
  Meta,
  RetentionPolicyRecord,
  RetentionRunRecord,
  TrashRecord,
} from '../meta/index.js';
import { BerthError, isValidName } from '../oci/index.js';
import {
  keepRules,
  type KeepRule,
  type RetentionEngine,
  type RetentionReport,
} from '../retention/index.js';

/** A policy as it is saved. */
export interface RetentionPolicyInput {
  /** A repository (`acme/app`) or a namespace (`acme/`). */
  scope: string;
  rules: KeepRule[];
  everyHours: number | null;
  restoreDays: number;
  enabled: boolean;
}

/** Retention policies, runs and the trash. */
export class RetentionService {
  constructor(
    private readonly meta: Meta,
    private readonly auth: AuthService | undefined,
    private readonly engine: RetentionEngine,
    private readonly audit: AuditSink,
  ) {}

  private async administers(actor: Actor, scope: string): Promise<boolean> {
    if (actsAsAdmin(actor.principal)) return true;
    const target = scope.endsWith('/')
      ? { kind: 'namespace' as const, name: scope.slice(0, -1) }
      : { kind: 'repository' as const, name: scope };
    return (await this.auth?.policy.administers(actor.principal, target)) === true;
  }

  private async requireAdmin(actor: Actor, scope: string): Promise<void> {
    if (!(await this.administers(actor, scope)))
      throw new BerthError('DENIED', `only administrators of ${scope} manage its retention`);
  }

  private async policyFor(actor: Actor, id: number): Promise<RetentionPolicyRecord> {
    const policy = await this.meta.retention.policy(id);
    if (!policy || !(await this.administers(actor, policy.scope)))
      throw new BerthError('NOT_FOUND', `no retention policy ${id}`);
    return policy;
  }

  private check(input: RetentionPolicyInput): void {
    if (!isValidName(input.scope.replace(/\/$/, '')))
      throw new BerthError(
        'INVALID_REQUEST',
        'scope is a repository (acme/app) or a namespace (acme/)',
      );
    const parsed = keepRules.safeParse(input.rules);
    if (!parsed.success)
      throw new BerthError(
        'INVALID_REQUEST',
        `rules: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
  }

  private async record(
    actor: Actor,
    action: string,
    target: string,
    detail?: Record<string, unknown>,
  ) {
    await this.audit.record({
      actor: actor.principal.name,
      action,
      target,
      outcome: 'success',
      address: actor.address,
      detail,
    });
  }

  /** The policies the actor administers. */
  async policies(actor: Actor): Promise<RetentionPolicyRecord[]> {
    const out = [];
    for (const p of await this.meta.retention.policies())
      if (await this.administers(actor, p.scope)) out.push(p);
    return out;
  }

  /** Adds a policy; as saved. */
  async add(actor: Actor, input: RetentionPolicyInput): Promise<RetentionPolicyRecord> {
    await this.requireAdmin(actor, input.scope);
    this.check(input);
    const saved = {
      ...input,
      lastRunAt: Date.now(),
      createdBy: actor.principal.name,
      createdAt: Date.now(),
    };
    const id = await this.meta.retention.addPolicy(saved);
    await this.record(actor, 'retention.policy.add', input.scope, { id, rules: input.rules });
    return { id, ...saved };
  }

  /** Replaces policy `id`'s settings; as saved. */
  async update(
    actor: Actor,
    id: number,
    input: RetentionPolicyInput,
  ): Promise<RetentionPolicyRecord> {
    const policy = await this.policyFor(actor, id);
    await this.requireAdmin(actor, input.scope);
    this.check(input);
    await this.meta.retention.updatePolicy(id, input);
    await this.record(actor, 'retention.policy.edit', input.scope, { id, rules: input.rules });
    return { ...policy, ...input };
  }

  /** Removes policy `id`. */
  async remove(actor: Actor, id: number): Promise<void> {
    const policy = await this.policyFor(actor, id);
    await this.meta.retention.removePolicy(id);
    await this.record(actor, 'retention.policy.remove', policy.scope, { id });
  }

  /** Runs policy `id` now (`dryRun`: only lists what would go). */
  async run(actor: Actor, id: number, dryRun: boolean): Promise<RetentionReport> {
    const policy = await this.policyFor(actor, id);
    const report = await this.engine.run(policy, {
      dryRun,
      trigger: 'manual',
      context: { actor: actor.principal.name, address: actor.address },
    });
    if (!dryRun)
      await this.record(actor, 'retention.run', policy.scope, { id, removed: report.removed });
    return report;
  }

  /** The newest runs of the policies the actor administers (of one, when given). */
  async runs(actor: Actor, policyId?: number): Promise<RetentionRunRecord[]> {
    if (policyId !== undefined) await this.policyFor(actor, policyId);
    const visible = new Set((await this.policies(actor)).map((p) => p.id));
    return (await this.meta.retention.runs(100, policyId)).filter((r) => visible.has(r.policyId));
  }

  /** What is in the trash of repositories the actor administers. */
  async trash(actor: Actor): Promise<TrashRecord[]> {
    const out = [];
    for (const item of await this.meta.retention.trashed({ limit: 1_000 }))
      if (await this.administers(actor, item.repository)) out.push(item);
    return out;
  }

  /** Restores trashed tag `id`. */
  async restore(actor: Actor, id: number): Promise<TrashRecord> {
    const item = await this.meta.retention.trashItem(id);
    if (!item || !(await this.administers(actor, item.repository)))
      throw new BerthError('NOT_FOUND', `nothing in the trash with id ${id}`);
    return this.engine.restore(id, { actor: actor.principal.name, address: actor.address });
  }
}
