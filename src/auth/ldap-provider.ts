/**
 * An LDAP or Active Directory directory as an identity provider: the user found with a service
 * bind and a search, their password checked by binding as them (never stored), their groups read
 * by the configured strategy — `memberOf`, a search for groups naming them, Active Directory's
 * nested-group matching rule, or a recursive search with a depth limit — and several server URLs
 * tried in order. StartTLS is required when asked for, never silently skipped.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { Client, Entry } from 'ldapts';

/** The LDAP client library, loaded when a directory is first used (it is large, and most never do). */
let ldapts: typeof import('ldapts') | undefined;
async function loadLdapts(): Promise<typeof import('ldapts')> {
  ldapts ??= await import('ldapts');
  return ldapts;
}

/** The loaded library: every caller runs after `connect`, which loads it. */
function loaded(): typeof import('ldapts') {
  if (!ldapts) throw new Error('the LDAP client library is not loaded yet');
  return ldapts;
}

const isInvalidCredentials = (err: unknown): boolean =>
  err instanceof loaded().InvalidCredentialsError;
import type { DirectoryProviderSettings } from '../config/index.js';
import {
  DirectoryDown,
  type DirectoryUser,
  type IdentityProvider,
  type ProviderDescription,
} from './identity-provider.js';

/** How a provider finds groups. */
export type GroupStrategy = DirectoryProviderSettings['groups']['strategy'];

/** An LDAP provider's settings (the bind password in the clear; mappings kept elsewhere). */
export type LdapSettings = Omit<
  DirectoryProviderSettings,
  'kind' | 'mappings' | 'order' | 'preset'
> & { preset?: string };

const text = (v: Entry[string] | undefined): string | null => {
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return null;
  return Buffer.isBuffer(first) ? first.toString('hex') : String(first);
};
const texts = (v: Entry[string] | undefined): string[] =>
  v === undefined
    ? []
    : (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString() : String(x)));
const eq = (attribute: string, value: string) =>
  new (loaded().EqualityFilter)({ attribute, value }).toString();

/** An LDAP directory. */
export class LdapProvider implements IdentityProvider {
  constructor(readonly settings: LdapSettings) {}

  get name(): string {
    return this.settings.name;
  }

  describe(): ProviderDescription {
    const s = this.settings;
    return {
      name: s.name,
      kind: 'ldap',
      preset: s.preset ?? null,
      urls: s.urls,
      userBase: s.userBase,
      groups: s.groups.strategy,
    };
  }

  /** A connected client, bound as `dn` (the first URL that answers). */
  private async connect(dn: string, password: string): Promise<Client> {
    const { Client } = await loadLdapts();
    const s = this.settings;
    const ca = s.ca ? [s.ca] : s.caFile ? [readFileSync(s.caFile)] : undefined;
    let lastError: unknown;
    for (const url of s.urls) {
      // No server name indication for an IP address (RFC 6066; some servers hang up on one).
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      const tlsOptions = { ...(ca ? { ca } : {}), ...(isIP(host) ? { servername: '' } : {}) };
      const client = new Client({
        url,
        timeout: s.searchTimeoutMs,
        connectTimeout: s.connectTimeoutMs,
        // ldapts speaks TLS from the first byte whenever it is given TLS options: only for ldaps.
        ...(url.startsWith('ldaps:') ? { tlsOptions } : {}),
      });
      try {
        // The certificate is checked against the URL's host (not Node's default, localhost).
        if (s.startTls)
          await client.startTLS({
            ...tlsOptions,
            checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert),
          });
        await client.bind(dn, password);
        return client;
      } catch (err) {
        await client.unbind().catch(() => undefined);
        if (isInvalidCredentials(err)) throw err;
        lastError = err;
      }
    }
    throw new DirectoryDown(
      `directory ${s.name} is unreachable: ${(lastError as Error)?.message ?? 'no URL'}`,
    );
  }

  private async search(
    client: Client,
    base: string,
    filter: string,
    attributes: string[],
    scope: 'sub' | 'one' = 'sub',
  ) {
    try {
      // Active Directory's objectGUID is binary: read as bytes (and shown as hex).
      const explicitBufferAttributes = attributes.filter((a) => /^objectGUID$/i.test(a));
      const options = {
        scope,
        filter,
        attributes,
        sizeLimit: 1000,
        timeLimit: Math.ceil(this.settings.searchTimeoutMs / 1000),
      };
      return (await client.search(base, { ...options, explicitBufferAttributes })).searchEntries;
    } catch (err) {
      throw new DirectoryDown(`directory ${this.name}: ${(err as Error).message}`);
    }
  }

  /** The user `login` with password `password`, or undefined when either is wrong. */
  async authenticate(login: string, password: string): Promise<DirectoryUser | undefined> {
    if (password === '') return undefined; // an empty password is an anonymous bind: never a login
    const s = this.settings;
    const service = await this.connect(s.bindDn, s.bindPassword);
    try {
      const filter = `(&${s.userFilter}${eq(s.loginAttribute, login)})`;
      const found = await this.findUsers(service, filter);
      if (found.length !== 1) return undefined;
      const entry = found[0]!;
      try {
        const asUser = await this.connect(entry.dn, password);
        await asUser.unbind().catch(() => undefined);
      } catch (err) {
        if (isInvalidCredentials(err)) return undefined;
        throw err;
      }
      return await this.userOf(service, entry, login);
    } finally {
      await service.unbind().catch(() => undefined);
    }
  }

  /**
   * The user `login` if the directory still has them under stable id `id` (no password check),
   * or undefined. Found by login, then matched by id, so a login that now names someone else is
   * not taken for them.
   */
  async lookup(id: string, login: string): Promise<DirectoryUser | undefined> {
    const user = await this.lookupByLogin(login);
    return user?.id === id ? user : undefined;
  }

  /** The user called `login` (no password check), or undefined. */
  async lookupByLogin(login: string): Promise<DirectoryUser | undefined> {
    const s = this.settings;
    const service = await this.connect(s.bindDn, s.bindPassword);
    try {
      const filter = `(&${s.userFilter}${eq(s.loginAttribute, login)})`;
      const found = await this.findUsers(service, filter);
      return found.length === 1 ? await this.userOf(service, found[0]!, login) : undefined;
    } finally {
      await service.unbind().catch(() => undefined);
    }
  }

  /** Binds with the service account and searches the user base; throws DirectoryDown. */
  async testConnection(): Promise<{ url: string; users: number }> {
    const s = this.settings;
    const service = await this.connect(s.bindDn, s.bindPassword);
    try {
      const found = await this.search(service, s.userBase, s.userFilter, ['dn'], s.userScope);
      return { url: s.urls.join(', '), users: found.length };
    } finally {
      await service.unbind().catch(() => undefined);
    }
  }

  private findUsers(client: Client, filter: string) {
    const s = this.settings;
    return this.search(client, s.userBase, filter, this.userAttributes(), s.userScope);
  }

  private userAttributes(): string[] {
    const s = this.settings;
    return [s.loginAttribute, s.idAttribute, s.mailAttribute, s.nameAttribute, 'memberOf'];
  }

  private async userOf(client: Client, entry: Entry, login: string): Promise<DirectoryUser> {
    const s = this.settings;
    return {
      provider: s.name,
      id: s.idAttribute === 'dn' ? entry.dn : (text(entry[s.idAttribute]) ?? entry.dn),
      login: text(entry[s.loginAttribute]) ?? login,
      dn: entry.dn,
      email: text(entry[s.mailAttribute]),
      fullName: text(entry[s.nameAttribute]),
      groups: await this.groupsOf(client, entry, login),
    };
  }

  private async groupsOf(client: Client, user: Entry, login: string): Promise<string[]> {
    const g = this.settings.groups;
    const base = g.base ?? this.settings.userBase;
    const memberValue = g.memberAttribute === 'memberUid' ? login : user.dn;
    const groups = new Set<string>();
    // auto: the user's memberOf when the directory keeps one (an overlay, AD, FreeIPA), else a
    // search for the groups that name them.
    const strategy =
      g.strategy === 'auto'
        ? texts(user.memberOf).length > 0
          ? 'memberOf'
          : 'member-search'
        : g.strategy;
    if (strategy === 'memberOf') texts(user.memberOf).forEach((dn) => groups.add(dn));
    else if (strategy === 'ad-nested') {
      const filter = `(&${g.filter}(member:1.2.840.113556.1.4.1941:=${escapeValue(user.dn)}))`;
      for (const e of await this.search(client, base, filter, ['cn'])) groups.add(e.dn);
    } else {
      // One level, or (recursive) groups of groups, each DN visited once, to `depth` levels.
      let frontier = [memberValue];
      for (
        let level = 0;
        level < (strategy === 'recursive' ? g.depth : 1) && frontier.length > 0;
        level++
      ) {
        const filter = `(&${g.filter}(|${frontier.map((v) => eq(g.memberAttribute, v)).join('')}))`;
        const found = await this.search(client, base, filter, ['cn']);
        frontier = found.map((e) => e.dn).filter((dn) => !groups.has(dn));
        frontier.forEach((dn) => groups.add(dn));
      }
    }
    // Mappings may name a group by its DN or by its first RDN's value (`devs` for cn=devs,…).
    for (const dn of [...groups]) {
      const m = /^[^=]+=([^,]+)/.exec(dn);
      if (m) groups.add(m[1]!);
    }
    return [...groups];
  }
}

function escapeValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
