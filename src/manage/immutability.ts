/** Immutable-tag rules for administrators: list, add (patterns checked), remove; audited. */
import { actsAsAdmin, type Actor, type AuditSink } from '../auth/index.js';
import type { ImmutableRuleRecord, Meta } from '../meta/index.js';
import { BerthError, isValidName } from '../oci/index.js';

/** A new rule. */
export interface ImmutableRuleInput {
  /** A repository (`acme/app`) or a namespace (`acme/`). */
  scope: string;
  /** Whole-tag regular expressions (`.*`, `v[0-9].*`). */
  patterns: string[];
  exclusions: string[];
}

/** Immutable-tag rules. */
export class ImmutabilityService {
  constructor(
    private readonly meta: Meta,
    private readonly audit: AuditSink,
    /** Told after a change (the registry re-reads the rules at once; other processes soon). */
    private readonly changed: () => void = () => {},
  ) {}

  private requireAdmin(actor: Actor, what: string): void {
    if (!actsAsAdmin(actor.principal))
      throw new BerthError('DENIED', `only administrators may ${what}`);
  }

  /** Every rule (anyone signed in may read them: they say why a push is refused). */
  rules(): Promise<ImmutableRuleRecord[]> {
    return this.meta.immutableRules.list();
  }

  /** Adds a rule; the rule as saved. */
  async add(actor: Actor, input: ImmutableRuleInput): Promise<ImmutableRuleRecord> {
    this.requireAdmin(actor, 'add immutable-tag rules');
    const name = input.scope.replace(/\/$/, '');
    if (!isValidName(name))
      throw new BerthError(
        'INVALID_REQUEST',
        'scope is a repository (acme/app) or a namespace (acme/)',
      );
    for (const pattern of [...input.patterns, ...input.exclusions])
      try {
        new RegExp(pattern);
      } catch {
        throw new BerthError('INVALID_REQUEST', `${pattern} is not a regular expression`);
      }
    const rule = { ...input, createdBy: actor.principal.name, createdAt: Date.now() };
    const id = await this.meta.immutableRules.add(rule);
    await this.audit.record({
      actor: actor.principal.name,
      action: 'immutable.add',
      target: input.scope,
      outcome: 'success',
      address: actor.address,
      detail: { id, patterns: input.patterns, exclusions: input.exclusions },
    });
    this.changed();
    return { id, ...rule };
  }

  /** Removes rule `id` (what it froze can then move and be deleted again). */
  async remove(actor: Actor, id: number): Promise<void> {
    this.requireAdmin(actor, 'remove immutable-tag rules');
    if (!(await this.meta.immutableRules.remove(id)))
      throw new BerthError('NOT_FOUND', `no immutable-tag rule ${id}`);
    await this.audit.record({
      actor: actor.principal.name,
      action: 'immutable.remove',
      target: String(id),
      outcome: 'success',
      address: actor.address,
    });
    this.changed();
  }
}
