/**
 * Accounts that come from directories: a login is tried against the providers in order (only
 * its own provider for an account already linked to one), the account is made on the first
 * successful login and linked by the directory's stable id (the password is never stored), and
 * group mappings are applied — organisation team memberships and administrator rights — at each
 * login. A name another account already holds is refused, never merged.
 */
import type { AccountRecord, Meta } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { DirectoryDown, type DirectoryUser, type LdapProvider } from './ldap-provider.js';
import { accountNameProblem } from './names.js';

/** A directory group that gives team membership (or administrator rights). */
export interface GroupMapping {
  /** A group DN, or its name (the first RDN's value). */
  group: string;
  org?: string;
  team?: string;
  admin?: boolean;
}

/** A provider with its group mappings, in login order. */
export interface ConfiguredProvider {
  provider: LdapProvider;
  mappings: GroupMapping[];
}

/** Logs in through directories and keeps their accounts in step. */
export class DirectoryAccounts {
  constructor(
    private readonly meta: Meta,
    private readonly providers: ConfiguredProvider[],
  ) {}

  /** Whether any directory is configured. */
  get any(): boolean {
    return this.providers.length > 0;
  }

  /**
   * The account `username` logs in to with `password` through a directory, or undefined when no
   * directory knows them with that password. UNAVAILABLE when every directory that could decide
   * is down; CONFLICT when the name belongs to another account.
   */
  async login(
    username: string,
    password: string,
    account: AccountRecord | undefined,
  ): Promise<AccountRecord | undefined> {
    const candidates = account?.provider
      ? this.providers.filter((p) => p.provider.name === account.provider)
      : this.providers;
    const down: string[] = [];
    for (const configured of candidates) {
      let user: DirectoryUser | undefined;
      try {
        user = await configured.provider.authenticate(username, password);
      } catch (err) {
        if (err instanceof DirectoryDown) {
          down.push(err.message);
          continue;
        }
        throw err;
      }
      if (!user) continue;
      const linked = await this.link(user, username);
      await this.applyMappings(linked, user.groups, configured.mappings);
      return (await this.meta.accounts.byId(linked.id))!;
    }
    if (down.length > 0) throw new BerthError('UNAVAILABLE', down.join('; '));
    return undefined;
  }

  private async link(user: DirectoryUser, username: string): Promise<AccountRecord> {
    return this.meta.writeTransaction(async (tx) => {
      const mine = (await tx.accounts.byName(username)) ?? undefined;
      if (mine && (mine.provider !== user.provider || mine.externalId !== user.id))
        throw new BerthError(
          'CONFLICT',
          mine.provider
            ? `${username} belongs to an account of ${mine.provider}`
            : `${username} is a local account; an administrator can link it to ${user.provider}`,
        );
      if (mine) {
        await tx.accounts.update(mine.id, { email: user.email, fullName: user.fullName });
        return mine;
      }
      const problem = accountNameProblem(username);
      if (problem)
        throw new BerthError('DENIED', `${username} cannot be an account name: ${problem}`);
      if (await tx.retiredNames.find(username))
        throw new BerthError('DENIED', `${username} was a deleted account's name`);
      return tx.accounts.create({
        name: username,
        kind: 'user',
        email: user.email,
        fullName: user.fullName,
        provider: user.provider,
        externalId: user.id,
      });
    });
  }

  private async applyMappings(account: AccountRecord, groups: string[], mappings: GroupMapping[]) {
    if (mappings.length === 0) return;
    const member = new Set(groups.map((g) => g.toLowerCase()));
    await this.meta.writeTransaction(async (tx) => {
      const adminMappings = mappings.filter((m) => m.admin);
      if (adminMappings.length > 0) {
        const admin = adminMappings.some((m) => member.has(m.group.toLowerCase()));
        if (admin !== account.isAdmin) await tx.accounts.update(account.id, { isAdmin: admin });
      }
      for (const m of mappings.filter((x) => x.org && x.team)) {
        const org = await tx.accounts.byName(m.org!);
        const team = org && (await tx.teams.byName(org.id, m.team!));
        if (!org || !team) continue;
        if (member.has(m.group.toLowerCase())) {
          const role = (await tx.accounts.members(org.id)).find((x) => x.name === account.name);
          if (!role) await tx.accounts.setMember(org.id, account.id, 'member');
          await tx.teams.addMember(team.id, account.id);
        } else await tx.teams.removeMember(team.id, account.id);
      }
    });
  }
}
