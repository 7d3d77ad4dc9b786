/**
 * Quotas for administrators and what namespaces use: administrators set and remove limits (the
 * registry's, a namespace's, a repository's); a namespace's or repository's administrators may
 * read its usage and the quotas that bind it. Changes are audited and in force at once here, on
 * other replicas within two seconds.
 */
import { actsAsAdmin, type Actor, type AuditSink, type AuthService } from '../auth/index.js';
import type { Meta, QuotaKind, QuotaLimits, QuotaRecord, QuotaUsage } from '../meta/index.js';
import { BerthError, isValidName } from '../oci/index.js';

/** A quota with what its scope uses now. */
export interface QuotaView extends QuotaRecord {
  usage: QuotaUsage;
}

/** A scope's usage with the quotas that bind it. */
export interface UsageView {
  kind: QuotaKind;
  scope: string;
  usage: QuotaUsage;
  quotas: QuotaRecord[];
}

/** Quota administration and usage figures. */
export class QuotaService {
  constructor(
    private readonly meta: Meta,
    private readonly auth: AuthService | undefined,
    private readonly audit: AuditSink,
    /** Told after a change (the registry re-reads quotas at once). */
    private readonly changed: () => void = () => {},
  ) {}

  private requireAdmin(actor: Actor): void {
    if (!actsAsAdmin(actor.principal))
      throw new BerthError('DENIED', 'only administrators may change quotas');
  }

  /** Every quota with its usage, and the registry's total even when it has no quota (administrators). */
  async list(actor: Actor): Promise<{ quotas: QuotaView[]; total: QuotaUsage }> {
    if (!actsAsAdmin(actor.principal))
      throw new BerthError('DENIED', 'only administrators may list every quota');
    const quotas = await this.meta.quotas.list();
    const views = [];
    for (const q of quotas)
      views.push({ ...q, usage: await this.meta.quotas.usage(q.kind, q.scope) });
    return { quotas: views, total: await this.meta.quotas.usage('global', '') };
  }

  /** What `kind`/`scope` uses and which quotas bind it (its administrators, or the registry's). */
  async usage(actor: Actor, kind: QuotaKind, scope: string): Promise<UsageView> {
    const name = this.checkScope(kind, scope);
    const allowed =
      actsAsAdmin(actor.principal) ||
      (kind !== 'global' &&
        (await this.auth?.policy.administers(actor.principal, { kind, name })) === true);
    if (!allowed)
      throw new BerthError('DENIED', `only administrators of ${name} may read its usage`);
    const binding = (await this.meta.quotas.list()).filter(
      (q) =>
        q.kind === 'global' ||
        (q.kind === kind && q.scope === name) ||
        (kind === 'repository' && q.kind === 'namespace' && name.startsWith(`${q.scope}/`)),
    );
    return { kind, scope: name, usage: await this.meta.quotas.usage(kind, name), quotas: binding };
  }

  /** Sets (creates or replaces) the quota on `kind`/`scope`; the quota as saved. */
  async set(
    actor: Actor,
    kind: QuotaKind,
    scope: string,
    limits: QuotaLimits,
  ): Promise<QuotaRecord> {
    this.requireAdmin(actor);
    const name = this.checkScope(kind, scope);
    if (Object.values(limits).every((v) => v === null))
      throw new BerthError('INVALID_REQUEST', 'a quota sets at least one limit');
    for (const [key, value] of Object.entries(limits))
      if (value !== null && (!Number.isSafeInteger(value) || value < 0))
        throw new BerthError('INVALID_REQUEST', `${key} is a whole number of at least 0`);
    if (
      limits.storageSoft !== null &&
      limits.storageHard !== null &&
      limits.storageSoft > limits.storageHard
    )
      throw new BerthError('INVALID_REQUEST', 'the soft storage limit is above the hard one');
    if (kind === 'repository' && limits.repositoriesMax !== null)
      throw new BerthError('INVALID_REQUEST', 'a repository quota has no repository count');
    const quota: QuotaRecord = {
      kind,
      scope: name,
      ...limits,
      updatedBy: actor.principal.name,
      updatedAt: Date.now(),
    };
    await this.meta.quotas.put(quota);
    await this.audit.record({
      actor: actor.principal.name,
      action: 'quota.set',
      target: kind === 'global' ? '(registry)' : name,
      outcome: 'success',
      address: actor.address,
      detail: { kind, ...limits },
    });
    this.changed();
    return quota;
  }

  /** Removes the quota on `kind`/`scope`. */
  async remove(actor: Actor, kind: QuotaKind, scope: string): Promise<void> {
    this.requireAdmin(actor);
    const name = this.checkScope(kind, scope);
    if (!(await this.meta.quotas.remove(kind, name)))
      throw new BerthError('NOT_FOUND', `no quota on ${kind === 'global' ? 'the registry' : name}`);
    await this.audit.record({
      actor: actor.principal.name,
      action: 'quota.remove',
      target: kind === 'global' ? '(registry)' : name,
      outcome: 'success',
      address: actor.address,
      detail: { kind },
    });
    this.changed();
  }

  private checkScope(kind: QuotaKind, scope: string): string {
    if (kind === 'global') return '';
    const name = scope.replace(/\/$/, '');
    const valid =
      kind === 'namespace' ? /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name) : isValidName(name);
    if (!valid)
      throw new BerthError(
        'INVALID_REQUEST',
        kind === 'namespace'
          ? `${scope.slice(0, 100)} is not a namespace name`
          : `${scope.slice(0, 100)} is not a repository name`,
      );
    return name;
  }
}
