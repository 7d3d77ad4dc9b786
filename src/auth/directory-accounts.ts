/**
 * Accounts that come from directories: a login is tried against the providers in order (only
 * its own provider for an account already linked to one), the account is made on the first
 * successful login and linked by the directory's stable id (the password is never stored), and
 * group mappings are applied — organisation team memberships and administrator rights — at each
 * login. A name another account already holds is refused, never merged.
 */
import type { AccountRecord, Meta } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { DirectoryDown, LOCAL_PROVIDER, type DirectoryUser } from './identity-provider.js';
import { accountNameProblem } from './names.js';
import type { ConfiguredProvider, GroupMapping, ProviderCatalog } from './provider-catalog.js';

/** Logs in through directories and keeps their accounts in step. */
export class DirectoryAccounts {
  constructor(
    private readonly meta: Meta,
    readonly catalog: ProviderCatalog,
  ) {}

  /** Whether any directory is in force. */
  async any(): Promise<boolean> {
    return (await this.catalog.current()).length > 0;
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
    const providers = await this.catalog.current();
    const candidates = account?.provider
      ? providers.filter((p) => p.provider.name === account.provider)
      : providers;
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

  /**
   * The providers in login order — local accounts first, then each directory with its source,
   * settings and mappings (never a bind password) — and saved ones that cannot be used.
   */
  async describe() {
    const providers = (await this.catalog.current()).map(
      ({ provider, source, settings, order }) => ({
        ...provider.describe(),
        source,
        order,
        settings,
        mappings: settings.mappings,
      }),
    );
    return {
      providers: [{ ...LOCAL_PROVIDER, source: 'built-in', order: -1, mappings: [] }, ...providers],
      unusable: await this.catalog.problems(),
    };
  }

  private async configured(name: string): Promise<ConfiguredProvider> {
    const found = (await this.catalog.current()).find((p) => p.provider.name === name);
    if (!found) throw new BerthError('NOT_FOUND', `no identity provider ${name}`);
    return found;
  }

  /**
   * Tests provider `name`: the service bind and search, and for `login` (a dry run) the entry
   * found, its groups and the teams and rights the mappings would give.
   */
  async test(name: string, login?: string) {
    const { provider, mappings } = await this.configured(name);
    let connection: { url: string; users: number };
    try {
      connection = await provider.testConnection();
    } catch (err) {
      if (err instanceof DirectoryDown) throw new BerthError('UNAVAILABLE', err.message);
      throw err;
    }
    if (login === undefined) return { provider: name, ...connection };
    const user = await provider.lookupByLogin(login);
    if (!user) return { provider: name, ...connection, user: null };
    const member = new Set(user.groups.map((g) => g.toLowerCase()));
    const matched = mappings.filter((m) => member.has(m.group.toLowerCase()));
    return {
      provider: name,
      ...connection,
      user: { dn: user.dn, id: user.id, email: user.email, groups: user.groups },
      teams: matched.filter((m) => m.org && m.team).map((m) => `${m.org}/${m.team}`),
      admin: matched.some((m) => m.admin),
    };
  }

  /**
   * Brings every directory account in step with its directory: details and mappings applied;
   * accounts the directory no longer has disabled, their tokens and sessions revoked.
   */
  async sync(): Promise<{ checked: number; disabled: string[]; unreachable: string[] }> {
    const result = { checked: 0, disabled: [] as string[], unreachable: [] as string[] };
    const accounts = (await this.meta.accounts.list('user')).filter(
      (a) => a.provider && !a.disabled,
    );
    for (const { provider, mappings } of await this.catalog.current()) {
      const mine = accounts.filter((a) => a.provider === provider.name);
      for (const account of mine) {
        let user: DirectoryUser | undefined;
        try {
          user = await provider.lookup(account.externalId ?? '', account.name);
        } catch (err) {
          if (!(err instanceof DirectoryDown)) throw err;
          result.unreachable.push(provider.name);
          break;
        }
        result.checked += 1;
        if (user) {
          await this.meta.writeTransaction((tx) =>
            tx.accounts.update(account.id, { email: user!.email, fullName: user!.fullName }),
          );
          await this.applyMappings(account, user.groups, mappings);
          continue;
        }
        await this.meta.writeTransaction(async (tx) => {
          await tx.accounts.update(account.id, { disabled: true });
          await tx.credentials.revokeRefreshTokensOf(account.id);
          for (const token of await tx.credentials.accessTokensOf(account.id))
            if (token.revokedAt === null) await tx.credentials.revokeAccessToken(token.id);
        });
        result.disabled.push(account.name);
      }
    }
    return result;
  }

  /**
   * Links account `name` to provider `providerName` (found there by the same login), or with
   * null makes it local again (it then needs a password set). The directory then decides its
   * logins; its sessions end, its access tokens stay.
   */
  async relink(name: string, providerName: string | null): Promise<AccountRecord> {
    const account = await this.meta.accounts.byName(name);
    if (!account || account.kind !== 'user') throw new BerthError('NOT_FOUND', `no user ${name}`);
    let externalId: string | null = null;
    if (providerName !== null) {
      const { provider } = await this.configured(providerName);
      let user: DirectoryUser | undefined;
      try {
        user = await provider.lookupByLogin(name);
      } catch (err) {
        if (err instanceof DirectoryDown) throw new BerthError('UNAVAILABLE', err.message);
        throw err;
      }
      if (!user) throw new BerthError('NOT_FOUND', `${providerName} has no user ${name}`);
      externalId = user.id;
    }
    return this.meta.writeTransaction(async (tx) => {
      if (providerName !== null) {
        const holders = (await tx.accounts.list('user')).filter(
          (a) => a.provider === providerName && a.externalId === externalId && a.id !== account.id,
        );
        if (holders.length > 0)
          throw new BerthError('CONFLICT', `${holders[0]!.name} is already that directory user`);
      }
      await tx.accounts.update(account.id, {
        provider: providerName,
        externalId,
        ...(providerName !== null ? { passwordHash: null } : {}),
      });
      await tx.credentials.revokeRefreshTokensOf(account.id);
      return (await tx.accounts.byId(account.id))!;
    });
  }
}
