/** What every management operation shares: the acting user, lookups that fail clearly, audit. */
import type { AccountRecord, Meta } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import type { AccessPolicy } from './access-policy.js';
import type { Authenticator } from './authenticator.js';
import type { AuditRecord, AuditSink } from './ports.js';
import { actsAsAdmin, type UserPrincipal } from './principal.js';

/** Who performs a management operation, and from where. */
export interface Actor {
  principal: UserPrincipal;
  address: string | null;
}

/** The actor of commands run on the data directory itself (full rights, audited by OS user). */
export function localActor(osUser: string): Actor {
  return {
    principal: { kind: 'user', id: 0, name: `local:${osUser}`, admin: true, session: 'local' },
    address: null,
  };
}

/** The parts management operations are built from. */
export interface DirectoryParts {
  meta: Meta;
  policy: AccessPolicy;
  authenticator: Authenticator;
  audit: AuditSink;
}

/** What an audited change says of itself (who and where come from the actor). */
export type AuditedChange = Omit<AuditRecord, 'actor' | 'address' | 'outcome'>;

/** Base of the management services: lookups, checks and audit in one place. */
export class DirectoryBase {
  constructor(protected readonly parts: DirectoryParts) {}

  protected get meta(): Meta {
    return this.parts.meta;
  }

  /**
   * Runs `work` in one write transaction with the audit entry (and event) it makes — `entry`, or
   * what `entry` says of the result — so a change is never recorded without happening or the
   * reverse; then drops cached access facts.
   */
  protected async changed<T>(
    actor: Actor,
    entry: AuditedChange | ((result: NoInfer<T>) => AuditedChange),
    work: (tx: Meta) => Promise<T>,
  ): Promise<T> {
    const result = await this.meta.writeTransaction(async (tx) => {
      const done = await work(tx);
      const what = typeof entry === 'function' ? entry(done) : entry;
      await this.parts.audit.recordIn(tx, {
        ...what,
        actor: actor.principal.name,
        address: actor.address,
        outcome: 'success',
      });
      return done;
    });
    this.parts.policy.invalidate();
    this.parts.authenticator.invalidate();
    return result;
  }

  /**
   * Throws DENIED unless the actor acts as an administrator (an administrator's access token
   * below `admin` level does not).
   */
  protected requireAdmin(actor: Actor, what: string): void {
    if (!actor.principal.admin) throw new BerthError('DENIED', `only administrators may ${what}`);
    this.requireFullCredential(actor, what);
  }

  /** Throws DENIED when the actor's credential is capped below admin (access tokens). */
  protected requireFullCredential(actor: Actor, what: string): void {
    const cap = actor.principal.cap;
    if (cap && cap !== 'admin')
      throw new BerthError('DENIED', `an access token with ${cap} access may not ${what}`);
  }

  /** The user `name`; NOT_FOUND otherwise. */
  protected async user(name: string): Promise<AccountRecord> {
    const account = await this.meta.accounts.byName(name);
    if (!account || account.kind !== 'user')
      throw new BerthError('NOT_FOUND', `no user named ${name}`);
    return account;
  }

  /** The organisation `name`; NOT_FOUND otherwise. */
  protected async org(name: string): Promise<AccountRecord> {
    const account = await this.meta.accounts.byName(name);
    if (!account || account.kind !== 'org')
      throw new BerthError('NOT_FOUND', `no organisation named ${name}`);
    return account;
  }

  /** The actor's role in `org` (undefined when not a member). */
  protected async roleIn(
    actor: Actor,
    org: AccountRecord,
  ): Promise<'owner' | 'member' | undefined> {
    const members = await this.meta.accounts.members(org.id);
    return members.find((m) => m.name === actor.principal.name)?.role;
  }

  /** Throws DENIED unless the actor owns `org` or is an administrator. */
  protected async requireOwner(actor: Actor, org: AccountRecord, what: string): Promise<void> {
    this.requireFullCredential(actor, what);
    if (actsAsAdmin(actor.principal)) return;
    if ((await this.roleIn(actor, org)) !== 'owner')
      throw new BerthError('DENIED', `only owners of ${org.name} may ${what}`);
  }
}

/** Throws INVALID_REQUEST with `problem` when it is defined. */
export function refuseProblem(problem: string | undefined): void {
  if (problem) throw new BerthError('INVALID_REQUEST', problem);
}
