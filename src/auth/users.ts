/** Managing users: create, list, describe, change (password, admin, disabled), delete. */
import type { AccountRecord, RetiredName } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { actsAsAdmin } from './principal.js';
import { DirectoryBase, refuseProblem, type Actor } from './directory-common.js';
import { accountNameProblem } from './names.js';
import {
  disposeNamespace,
  refuseNameTakeover,
  type Disposed,
  type NamespaceDisposal,
} from './namespaces.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';

/** A user as the API shows it. */
export interface UserView {
  name: string;
  email: string | null;
  fullName: string | null;
  admin: boolean;
  disabled: boolean;
  /** The identity provider the account belongs to: `local`, or a directory's name. */
  provider: string;
  createdAt: string;
}

/** A new user's fields. */
export interface NewUser {
  name: string;
  password: string;
  email?: string | null;
  fullName?: string | null;
  admin?: boolean;
}

/** Changes to a user. */
export interface UserChanges {
  password?: string;
  /** Required when users change their own password. */
  currentPassword?: string;
  email?: string | null;
  fullName?: string | null;
  admin?: boolean;
  disabled?: boolean;
}

/** The public view of `a`. */
export function userView(a: AccountRecord): UserView {
  return {
    name: a.name,
    email: a.email,
    fullName: a.fullName,
    admin: a.isAdmin,
    disabled: a.disabled,
    provider: a.provider ?? 'local',
    createdAt: new Date(a.createdAt).toISOString(),
  };
}

/** User management, checked and audited. */
export class UserDirectory extends DirectoryBase {
  /** Creates a user (administrators only). */
  async create(actor: Actor, user: NewUser): Promise<UserView> {
    this.requireAdmin(actor, 'create users');
    refuseProblem(accountNameProblem(user.name));
    refuseProblem(passwordProblem(user.password));
    if (await this.meta.accounts.byName(user.name))
      throw new BerthError('CONFLICT', `the name ${user.name} is taken`);
    await refuseNameTakeover(this.meta, actor, user.name);
    const passwordHash = await hashPassword(user.password);
    const created = await this.changed<AccountRecord>(
      actor,
      (c) => ({
        action: 'user.create',
        target: user.name,
        detail: { admin: c.isAdmin },
      }),
      (tx) =>
        tx.accounts.create({
          name: user.name,
          kind: 'user',
          passwordHash,
          email: user.email ?? null,
          fullName: user.fullName ?? null,
          isAdmin: user.admin ?? false,
        }),
    );
    return userView(created);
  }

  /** Every user (administrators only). */
  async list(actor: Actor): Promise<UserView[]> {
    this.requireAdmin(actor, 'list users');
    return (await this.meta.accounts.list('user')).map(userView);
  }

  /** One user (themself or an administrator). */
  async get(actor: Actor, name: string): Promise<UserView> {
    if (actor.principal.name !== name) this.requireAdmin(actor, `see user ${name}`);
    return userView(await this.user(name));
  }

  /** Changes a user: themself (password with the current one, email, name) or an administrator (anything). */
  async update(actor: Actor, name: string, changes: UserChanges): Promise<UserView> {
    const self = actor.principal.name === name;
    if (!self) this.requireAdmin(actor, `change user ${name}`);
    this.requireFullCredential(actor, 'change accounts');
    if (
      (changes.admin !== undefined || changes.disabled !== undefined) &&
      !actsAsAdmin(actor.principal)
    )
      throw new BerthError(
        'DENIED',
        'only administrators may change admin rights or disable users',
      );
    const account = await this.user(name);
    if (changes.password !== undefined) {
      refuseProblem(passwordProblem(changes.password));
      if (!actsAsAdmin(actor.principal) || (self && changes.currentPassword !== undefined)) {
        if (!(await verifyPassword(account.passwordHash, changes.currentPassword ?? '')))
          throw new BerthError('DENIED', 'the current password is wrong');
      }
    }
    if ((changes.admin === false || changes.disabled === true) && account.isAdmin)
      await this.keepOneAdmin(account);
    const passwordHash =
      changes.password !== undefined ? await hashPassword(changes.password) : undefined;
    const changed = Object.keys(changes).filter((k) => k !== 'currentPassword' && k !== 'password');
    const entry = {
      action: 'user.update',
      target: name,
      detail: { changed: changes.password !== undefined ? [...changed, 'password'] : changed },
    };
    await this.changed(actor, entry, async (tx) => {
      await tx.accounts.update(account.id, {
        passwordHash,
        email: changes.email,
        fullName: changes.fullName,
        isAdmin: changes.admin,
        disabled: changes.disabled,
      });
      if (changes.password !== undefined || changes.disabled === true)
        await tx.credentials.revokeRefreshTokensOf(account.id);
    });
    return userView((await this.meta.accounts.byId(account.id))!);
  }

  /** Every retired account name (administrators only). */
  async retiredNames(actor: Actor): Promise<RetiredName[]> {
    this.requireAdmin(actor, 'list retired names');
    return this.meta.retiredNames.list();
  }

  /** Lets `name`, once a deleted account's, be taken again (administrators only). */
  async freeName(actor: Actor, name: string): Promise<void> {
    this.requireAdmin(actor, 'free retired names');
    await this.changed(actor, { action: 'name.free', target: name }, async (tx) => {
      if (!(await tx.retiredNames.free(name)))
        throw new BerthError('NOT_FOUND', `${name} is not a retired name`);
    });
  }

  private async keepOneAdmin(account: AccountRecord): Promise<void> {
    if (account.isAdmin && !account.disabled && (await this.meta.accounts.countAdmins()) <= 1)
      throw new BerthError('CONFLICT', `${account.name} is the last administrator`);
  }

  /**
   * Deletes a user with their tokens and memberships (administrators only). Repositories under
   * their name are refused, deleted or transferred as `disposal` says; the name stays reserved.
   */
  async delete(
    actor: Actor,
    name: string,
    disposal: NamespaceDisposal = { repositories: 'refuse' },
  ): Promise<void> {
    this.requireAdmin(actor, 'delete users');
    const account = await this.user(name);
    await this.keepOneAdmin(account);
    await this.changed<Disposed>(
      actor,
      (done) => ({ action: 'user.delete', target: name, detail: { ...done } }),
      async (tx) => {
        const result = await disposeNamespace(tx, actor, name, 'user', disposal);
        await tx.accounts.delete(account.id);
        return result;
      },
    );
  }
}
