/**
 * A real OpenLDAP server for tests (Debian's slapd), on 127.0.0.1 and a port of its own, with an
 * mdb database seeded by `slapadd` from the LDIF a test gives.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, removeDir, tempDir } from './server.js';
import type { LdapSettings } from '../../src/auth/index.js';
import { untilListening } from './wait.js';

/** The suffix, administrator and password of every test directory. */
export const LDAP_BASE = 'dc=example,dc=org';
export const LDAP_ADMIN = `cn=admin,${LDAP_BASE}`;
export const LDAP_ADMIN_PASSWORD = 'ldap-admin-password';

/** A running slapd. */
export interface Slapd {
  url: string;
  /** `ldaps://…` when started with a certificate. */
  ldapsUrl?: string;
  /** Applies an LDIF change (ldapmodify) as the administrator. */
  modify(ldif: string): void;
  stop(): Promise<void>;
}

/** The LDIF of a user `uid` with password `password` under ou=people. */
export function ldapUser(uid: string, password: string, mail = `${uid}@example.org`): string {
  return [
    `dn: uid=${uid},ou=people,${LDAP_BASE}`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${uid} Example`,
    `sn: ${uid}`,
    `mail: ${mail}`,
    `userPassword: ${password}`,
    '',
  ].join('\n');
}

/** The LDIF of a group `cn` under ou=groups with `members` (DNs). */
export function ldapGroup(cn: string, members: string[]): string {
  return [
    `dn: cn=${cn},ou=groups,${LDAP_BASE}`,
    'objectClass: groupOfNames',
    `cn: ${cn}`,
    ...members.map((m) => `member: ${m}`),
    '',
  ].join('\n');
}

/** Starts slapd seeded with the base, ou=people, ou=groups and `entries` (LDIF). */
export async function startSlapd(
  entries: string,
  tls?: { cert: string; key: string },
  options: { memberOf?: boolean; adSchema?: boolean } = {},
): Promise<Slapd> {
  const dir = tempDir('slapd');
  const port = await freePort();
  const tlsPort = tls ? await freePort() : undefined;
  if (tls) {
    writeFileSync(path.join(dir, 'cert.pem'), tls.cert);
    writeFileSync(path.join(dir, 'key.pem'), tls.key, { mode: 0o600 });
  }
  mkdirSync(path.join(dir, 'db'));
  // Active Directory's user attributes, for tests of its conventions on OpenLDAP.
  const adSchema = path.join(dir, 'ad.schema');
  writeFileSync(
    adSchema,
    [
      "attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
      "attributetype ( 1.3.6.1.4.1.55555.1.2 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
      "attributetype ( 1.3.6.1.4.1.55555.1.3 NAME 'objectGUID' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )",
      "objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'adUser' AUXILIARY MAY ( sAMAccountName $ userPrincipalName $ objectGUID ) )",
      '',
    ].join('\n'),
  );
  const conf = path.join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/nis.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      ...(options.adSchema ? [`include ${adSchema}`] : []),
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      ...(options.memberOf ? ['moduleload memberof'] : []),
      `pidfile ${path.join(dir, 'slapd.pid')}`,
      ...(tls
        ? [
            `TLSCertificateFile ${path.join(dir, 'cert.pem')}`,
            `TLSCertificateKeyFile ${path.join(dir, 'key.pem')}`,
          ]
        : []),
      'database mdb',
      'maxsize 10485760',
      `suffix "${LDAP_BASE}"`,
      `rootdn "${LDAP_ADMIN}"`,
      `rootpw ${LDAP_ADMIN_PASSWORD}`,
      `directory ${path.join(dir, 'db')}`,
      // The memberOf overlay keeps users' memberOf in step with groups added while it runs.
      ...(options.memberOf ? ['overlay memberof'] : []),
      '',
    ].join('\n'),
  );
  const seed = [
    `dn: ${LDAP_BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ou=people,${LDAP_BASE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${LDAP_BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
    entries,
  ].join('\n');
  writeFileSync(path.join(dir, 'seed.ldif'), seed);
  execFileSync('slapadd', ['-f', conf, '-l', path.join(dir, 'seed.ldif')], { stdio: 'pipe' });
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = tlsPort ? `ldaps://127.0.0.1:${tlsPort}` : undefined;
  const listen = [`${url}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : [])].join(' ');
  const child: ChildProcess = spawn('slapd', ['-f', conf, '-h', listen, '-d', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await untilListening(child, port, 'slapd');
  return {
    url,
    ldapsUrl,
    modify(ldif) {
      execFileSync('ldapmodify', ['-x', '-H', url, '-D', LDAP_ADMIN, '-w', LDAP_ADMIN_PASSWORD], {
        input: ldif,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      removeDir(dir);
    },
  };
}

/** Provider settings for a test directory at `url`: users under ou=people, found by `uid`. */
export function ldapSettings(
  url: string,
  over: Partial<Omit<LdapSettings, 'groups'>> & { groups?: Partial<LdapSettings['groups']> } = {},
): LdapSettings {
  const { groups, ...rest } = over;
  return {
    name: 'test',
    urls: [url],
    startTls: false,
    bindDn: LDAP_ADMIN,
    bindPassword: LDAP_ADMIN_PASSWORD,
    userBase: `ou=people,${LDAP_BASE}`,
    userFilter: '(objectClass=inetOrgPerson)',
    loginAttribute: 'uid',
    idAttribute: 'entryUUID',
    mailAttribute: 'mail',
    nameAttribute: 'cn',
    userScope: 'sub',
    connectTimeoutMs: 3000,
    searchTimeoutMs: 5000,
    ...rest,
    groups: {
      strategy: 'member-search',
      base: `ou=groups,${LDAP_BASE}`,
      filter: '(objectClass=groupOfNames)',
      memberAttribute: 'member',
      depth: 5,
      ...groups,
    },
  };
}
