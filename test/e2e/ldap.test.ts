/**
 * Directory logins against a real OpenLDAP (Debian slapd on 127.0.0.1) with the real docker CLI:
 * a directory user's `docker login` makes their account on first use, their group maps to an
 * organisation team, and they push where the team may; a wrong password is refused; a directory
 * name that a local account holds is refused, never merged; with the directory down its users get
 * a clear error while local accounts still log in.
 */
import assert from 'node:assert/strict';
import { signedInPage } from '../helpers/browser.js';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { busyboxContext, startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';
import { spawnSync } from 'node:child_process';
import {
  LDAP_ADMIN,
  LDAP_ADMIN_PASSWORD,
  LDAP_BASE,
  ldapGroup,
  ldapSettings,
  ldapUser,
  startSlapd,
  type Slapd,
} from '../helpers/slapd.js';
import { attempt, needTools, skipUnlessTools } from '../helpers/tools.js';
import { podmanFlags } from '../helpers/podman.js';
import { makeSelfSignedCertificate } from '../../src/cli/index.js';
import { LdapProvider, type LdapSettings } from '../../src/auth/index.js';

const TOOLS = ['dockerd', 'docker', 'busybox', 'slapd', 'slapadd', 'ldapmodify'];
const ADMIN_PASSWORD = 'ldap-test-admin-password';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN = basic('admin', ADMIN_PASSWORD);

async function call(base: string, method: string, url: string, body?: unknown, auth = ADMIN) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, text: await res.text() };
}

describe('LDAP directory logins', { skip: skipUnlessTools(TOOLS) }, () => {
  let slapd: Slapd;
  let partner: Slapd;
  let lab: Slapd;
  let server: SpawnedBerth;
  let engine: PrivateDockerd;
  let data: string;

  before(async () => {
    const alice = `uid=dalice,ou=people,${LDAP_BASE}`;
    slapd = await startSlapd(
      [
        ldapUser('dalice', 'dalice-password'),
        ldapUser('clash', 'clash-password'),
        ldapUser('twin', 'twin-at-corp'),
        // groupOfNames needs a member: a second one lets the test take dalice out.
        ldapGroup('devs', [alice, `uid=placeholder,ou=people,${LDAP_BASE}`]),
      ].join('\n'),
    );
    // A second directory: its own users, and a `twin` whose name corp has too.
    partner = await startSlapd(
      [ldapUser('pbob', 'pbob-password'), ldapUser('twin', 'twin-at-partner')].join('\n'),
    );
    // A third directory, added later through the settings page.
    lab = await startSlapd(ldapUser('lcarol', 'lcarol-password'));
    data = tempDir('ldap');
    // The second provider's bind password is sealed with the master key, as an operator would.
    const sealed = spawnSync(
      process.execPath,
      [BERTH_BIN, 'idp', 'seal-password', 'partner', '--data', data],
      { input: LDAP_ADMIN_PASSWORD, encoding: 'utf8' },
    );
    assert.equal(sealed.status, 0, sealed.stderr);
    assert.match(sealed.stdout, /^sealed:v1\./);
    const config = path.join(data, 'berth.yaml');
    writeFileSync(
      config,
      stringify({
        identity: {
          providers: [
            {
              name: 'corp',
              urls: ['ldap://127.0.0.1:1', slapd.url],
              bindDn: LDAP_ADMIN,
              bindPassword: LDAP_ADMIN_PASSWORD,
              userBase: `ou=people,${LDAP_BASE}`,
              userFilter: '(objectClass=inetOrgPerson)',
              groups: { strategy: 'member-search', base: `ou=groups,${LDAP_BASE}` },
              mappings: [{ group: 'devs', org: 'acme', team: 'devs' }],
              connectTimeoutMs: 3000,
            },
            {
              name: 'partner',
              urls: [partner.url],
              bindDn: LDAP_ADMIN,
              bindPassword: sealed.stdout.trim(),
              userBase: `ou=people,${LDAP_BASE}`,
              userFilter: '(objectClass=inetOrgPerson)',
              connectTimeoutMs: 3000,
            },
          ],
        },
      }),
    );
    server = await spawnBerth({
      data,
      auth: 'token',
      adminPassword: ADMIN_PASSWORD,
      args: ['--config', config],
    });
    engine = await startDockerd();
    engine.docker(['build', '-q', '-t', 'local/busybox:1', busyboxContext()]);
    assert.equal((await call(server.url, 'POST', '/api/v1/orgs', { name: 'acme' })).status, 201);
    assert.equal(
      (await call(server.url, 'POST', '/api/v1/orgs/acme/teams', { name: 'devs' })).status,
      201,
    );
    const level = await call(server.url, 'PUT', '/api/v1/orgs/acme/teams/devs/permission', {
      level: 'write',
    });
    assert.ok(level.status < 300, level.text);
    const local = await call(server.url, 'POST', '/api/v1/users', {
      name: 'clash',
      password: 'local-clash-pw',
    });
    assert.equal(local.status, 201);
  });
  after(async () => {
    await engine?.stop();
    await server?.stop();
    await slapd?.stop();
    await partner?.stop();
    await lab?.stop();
    if (data) removeDir(data);
  });

  it('makes the account at the first docker login, maps the group to a team, and pushes', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const wrong = engine.attempt(['login', '-u', 'dalice', '--password-stdin', server.host], {
      input: 'not-her-password',
    });
    assert.notEqual(wrong.status, 0);
    engine.docker(['login', '-u', 'dalice', '--password-stdin', server.host], {
      input: 'dalice-password',
    });
    const me = await call(server.url, 'GET', '/api/v1/users/dalice');
    assert.equal(me.status, 200);
    assert.match(me.text, /dalice@example\.org/);
    const ref = `${server.host}/acme/app:1`;
    engine.docker(['tag', 'local/busybox:1', ref]);
    engine.docker(['push', ref]);
    const team = await call(server.url, 'GET', '/api/v1/orgs/acme/teams/devs');
    assert.match(team.text, /dalice/);
  });

  it('signs in with directory credentials from skopeo, podman and the web UI too', async (t) => {
    if (!needTools(t, ...TOOLS, 'skopeo', 'podman', 'chromium')) return;
    const inspected = attempt('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--creds',
      'dalice:dalice-password',
      `docker://${server.host}/acme/app:1`,
    ]);
    assert.equal(inspected.status, 0, inspected.output);
    const refused = attempt('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--creds',
      'dalice:wrong-password',
      `docker://${server.host}/acme/app:1`,
    ]);
    assert.notEqual(refused.status, 0);
    const store = tempDir('ldap-podman');
    try {
      const env = { ...process.env, REGISTRY_AUTH_FILE: path.join(store, 'auth.json') };
      const podman = (args: string[], input?: string) =>
        attempt('podman', [...podmanFlags(store), ...args], { env, input });
      // pbob comes from the second directory: the first does not know him.
      const login = podman(
        ['login', '--tls-verify=false', '-u', 'pbob', '--password-stdin', server.host],
        'pbob-password',
      );
      assert.equal(login.status, 0, login.output);
      assert.match(login.output, /Login Succeeded/);
      const bad = podman(
        ['login', '--tls-verify=false', '-u', 'pbob', '--password-stdin', server.host],
        'not-pbob-password',
      );
      assert.notEqual(bad.status, 0);
    } finally {
      removeDir(store);
    }
    const { page, close } = await signedInPage(`${server.url}`, 'dalice', 'dalice-password');
    try {
      await page.getByRole('link', { name: 'acme/app' }).first().waitFor();
    } finally {
      await close();
    }
  });

  it('logs in through two directories at once, first match wins, never merging a twin', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const pbob = await call(
      server.url,
      'GET',
      '/api/v1/me',
      undefined,
      basic('pbob', 'pbob-password'),
    );
    assert.equal(pbob.status, 200, 'a user of the second directory');
    const twin = await call(
      server.url,
      'GET',
      '/api/v1/me',
      undefined,
      basic('twin', 'twin-at-corp'),
    );
    assert.equal(twin.status, 200, 'the first directory in order decides a name both have');
    const other = await call(
      server.url,
      'GET',
      '/api/v1/me',
      undefined,
      basic('twin', 'twin-at-partner'),
    );
    assert.equal(other.status, 401, "the second directory's twin does not get corp's account");
    const audit = await call(server.url, 'GET', '/api/v1/audit?action=login&actor=twin');
    assert.match(audit.text, /directory:corp/);
    assert.match(audit.text, /"outcome":"failure"/);
  });

  it('shows the providers on the settings page, tests one and dry-runs a user, in Chromium', async (t) => {
    if (!needTools(t, ...TOOLS, 'chromium')) return;
    const { page, close } = await signedInPage(`${server.url}`, 'admin', ADMIN_PASSWORD);
    try {
      await page.goto(`${server.url}/settings`);
      const table = page.getByRole('table', { name: 'Identity providers' });
      await table.getByRole('row', { name: /corp/ }).waitFor();
      await table.getByRole('row', { name: /partner/ }).waitFor();
      await table
        .getByRole('row', { name: /corp/ })
        .getByRole('button', { name: 'Test connection' })
        .click();
      await page.getByLabel('Identity result').filter({ hasText: '"users"' }).waitFor();
      await page.getByLabel('User to test').fill('dalice');
      await table
        .getByRole('row', { name: /corp/ })
        .getByRole('button', { name: 'Test user' })
        .click();
      await page.getByLabel('Identity result').filter({ hasText: 'acme/devs' }).waitFor();
    } finally {
      await close();
    }
  });

  it('adds a directory on the settings page (its bind password sealed at rest), whose user then logs in with docker', async (t) => {
    if (!needTools(t, ...TOOLS, 'chromium')) return;
    const { page, close } = await signedInPage(`${server.url}`, 'admin', ADMIN_PASSWORD);
    try {
      await page.goto(`${server.url}/settings`);
      await page.getByRole('button', { name: 'Add a directory' }).click();
      const form = page.getByRole('form', { name: 'Add a directory' });
      await form.getByLabel('Name').fill('lab');
      await form.getByLabel('Kind of directory').selectOption('openldap');
      await form.getByLabel('Server URLs').fill(lab.url);
      await form.getByLabel('Bind DN').fill(LDAP_ADMIN);
      await form.getByLabel('Bind password').fill(LDAP_ADMIN_PASSWORD);
      await form.getByLabel('Users under').fill(`ou=people,${LDAP_BASE}`);
      await form.getByLabel('Group mappings').fill('nobody -> acme/devs');
      await form.getByRole('button', { name: 'Save directory' }).click();
      const table = page.getByRole('table', { name: 'Identity providers' });
      const row = table.getByRole('row', { name: /lab/ });
      await row.getByText('saved').waitFor();
      await row.getByRole('button', { name: 'Test connection' }).click();
      await page.getByLabel('Identity result').filter({ hasText: '"users": 1' }).waitFor();

      // The real client logs in through the new directory at once; the account is made.
      engine.docker(['login', '-u', 'lcarol', '--password-stdin', server.host], {
        input: 'lcarol-password',
      });
      const lcarol = await call(server.url, 'GET', '/api/v1/users/lcarol');
      assert.match(lcarol.text, /"provider":"lab"/);

      // Removing it is refused while an account belongs to it, and says so on the page.
      await row.getByRole('button', { name: 'Remove' }).click();
      await page.getByText(/account\(s\) belong to lab \(lcarol\)/).waitFor();
    } finally {
      await close();
    }
    // Nowhere in the data directory's database files is the bind password in the clear.
    for (const file of readdirSync(data).filter((f) => f.startsWith('berth.db')))
      assert.ok(
        !readFileSync(path.join(data, file)).includes(LDAP_ADMIN_PASSWORD),
        `${file} holds no bind password`,
      );
    const listed = await call(server.url, 'GET', '/api/v1/identity/providers');
    assert.ok(!listed.text.includes(LDAP_ADMIN_PASSWORD));
  });

  it('tests a provider with a dry run, and syncs: group left → team gone; user gone → disabled', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const dry = await call(server.url, 'POST', '/api/v1/identity/providers/corp/test', {
      login: 'dalice',
    });
    assert.equal(dry.status, 200, dry.text);
    const dryRun = JSON.parse(dry.text) as { user: { dn: string }; teams: string[] };
    assert.equal(dryRun.user.dn, `uid=dalice,ou=people,${LDAP_BASE}`);
    assert.deepEqual(dryRun.teams, ['acme/devs']);
    const token = await call(
      server.url,
      'POST',
      '/api/v1/tokens',
      { name: 'ci', level: 'read' },
      basic('dalice', 'dalice-password'),
    );
    assert.equal(token.status, 201);
    const pat = (JSON.parse(token.text) as { token: string }).token;

    slapd.modify(
      `dn: cn=devs,ou=groups,${LDAP_BASE}\nchangetype: modify\ndelete: member\nmember: uid=dalice,ou=people,${LDAP_BASE}\n`,
    );
    const first = await call(server.url, 'POST', '/api/v1/identity/sync');
    assert.equal(first.status, 200, first.text);
    assert.doesNotMatch(
      (await call(server.url, 'GET', '/api/v1/orgs/acme/teams/devs')).text,
      /dalice/,
    );

    slapd.modify(`dn: uid=dalice,ou=people,${LDAP_BASE}\nchangetype: delete\n`);
    const second = JSON.parse((await call(server.url, 'POST', '/api/v1/identity/sync')).text) as {
      disabled: string[];
    };
    assert.deepEqual(second.disabled, ['dalice']);
    const refused = await call(server.url, 'GET', '/api/v1/me', undefined, basic('dalice', pat));
    assert.equal(refused.status, 401, 'her access token is revoked');
    const login = engine.attempt(['login', '-u', 'dalice', '--password-stdin', server.host], {
      input: 'dalice-password',
    });
    assert.notEqual(login.status, 0, 'gone from the directory, no login');
  });

  it('refuses a directory name a local account holds until moved, and keeps local logins when the directory is down', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const clash = await call(
      server.url,
      'GET',
      '/api/v1/me',
      undefined,
      basic('clash', 'clash-password'),
    );
    assert.equal(clash.status, 401, 'the directory cannot take the local account over');
    const local = await call(
      server.url,
      'GET',
      '/api/v1/me',
      undefined,
      basic('clash', 'local-clash-pw'),
    );
    assert.equal(local.status, 200);
    // An administrator moves the local account to the directory: the directory's password works now.
    const moved = await call(server.url, 'PUT', '/api/v1/users/clash/identity', {
      provider: 'corp',
    });
    assert.equal(moved.status, 200, moved.text);
    const viaDirectory = await call(
      server.url,
      'GET',
      '/api/v1/me',
      undefined,
      basic('clash', 'clash-password'),
    );
    assert.equal(viaDirectory.status, 200);
    const oldPassword = await call(
      server.url,
      'GET',
      '/api/v1/me',
      undefined,
      basic('clash', 'local-clash-pw'),
    );
    assert.equal(oldPassword.status, 401, 'the local password is gone');
    await slapd.stop();
    const down = await call(server.url, 'GET', '/api/v1/me', undefined, basic('someone', 'pw'));
    assert.equal(down.status, 503);
    assert.match(down.text, /directory corp is unreachable/);
    const stillLocal = await call(server.url, 'GET', '/api/v1/me', undefined, ADMIN);
    assert.equal(stillLocal.status, 200);
  });
});

describe('LDAP over TLS', { skip: skipUnlessTools(['slapd', 'slapadd']) }, () => {
  it('speaks LDAPS and StartTLS with a private CA, and never falls back to plain text', async (t) => {
    if (!needTools(t, 'slapd', 'slapadd')) return;
    const pem = await makeSelfSignedCertificate(['127.0.0.1'], 1);
    const secure = await startSlapd(ldapUser('tuser', 'tuser-password'), pem);
    const dir = tempDir('ldap-ca');
    const caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, pem.cert);
    const provider = (over: Partial<LdapSettings>) =>
      new LdapProvider(
        ldapSettings(secure.ldapsUrl!, { caFile, groups: { strategy: 'memberOf' }, ...over }),
      );
    try {
      assert.equal((await provider({}).authenticate('tuser', 'tuser-password'))?.login, 'tuser');
      const startTls = provider({ urls: [secure.url], startTls: true });
      assert.equal((await startTls.authenticate('tuser', 'tuser-password'))?.login, 'tuser');
      await assert.rejects(
        provider({ caFile: undefined }).authenticate('tuser', 'tuser-password'),
        /unreachable/,
      );
      await assert.rejects(
        provider({ urls: [secure.url], startTls: true, caFile: undefined }).authenticate(
          'tuser',
          'tuser-password',
        ),
        /unreachable/,
        'an untrusted StartTLS certificate is an error, not a plain-text login',
      );
    } finally {
      await secure.stop();
      removeDir(dir);
    }
  });
});

describe(
  'LDAP group strategies',
  { skip: skipUnlessTools(['slapd', 'slapadd', 'ldapmodify']) },
  () => {
    const group = (cn: string, members: string[]) =>
      `${ldapGroup(cn, members).replace(/^(dn: .*)$/m, '$1\nchangetype: add')}\n`;

    it('finds nested groups recursively (with a depth limit and cycles), and memberOf from the overlay', async (t) => {
      if (!needTools(t, 'slapd', 'slapadd', 'ldapmodify')) return;
      const slapd = await startSlapd(ldapUser('nuser', 'nuser-password'), undefined, {
        memberOf: true,
      });
      const user = `uid=nuser,ou=people,${LDAP_BASE}`;
      const dn = (cn: string) => `cn=${cn},ou=groups,${LDAP_BASE}`;
      try {
        // backend ∋ nuser; engineering ∋ backend; everyone ∋ engineering; a cycle back to backend.
        slapd.modify(group('backend', [user]));
        slapd.modify(group('engineering', [dn('backend')]));
        slapd.modify(group('everyone', [dn('engineering')]));
        slapd.modify(
          `dn: ${dn('backend')}\nchangetype: modify\nadd: member\nmember: ${dn('everyone')}\n`,
        );
        const of = async (groups: Partial<LdapSettings['groups']>) =>
          (
            (
              await new LdapProvider(ldapSettings(slapd.url, { groups })).authenticate(
                'nuser',
                'nuser-password',
              )
            )?.groups ?? []
          ).filter((g) => !g.includes('='));
        assert.deepEqual((await of({ strategy: 'member-search' })).sort(), ['backend']);
        assert.deepEqual((await of({ strategy: 'recursive' })).sort(), [
          'backend',
          'engineering',
          'everyone',
        ]);
        assert.deepEqual((await of({ strategy: 'recursive', depth: 2 })).sort(), [
          'backend',
          'engineering',
        ]);
        assert.deepEqual((await of({ strategy: 'memberOf' })).sort(), ['backend']);
      } finally {
        await slapd.stop();
      }
    });
  },
);

describe(
  "Active Directory's conventions on OpenLDAP",
  { skip: skipUnlessTools(['slapd', 'slapadd']) },
  () => {
    it('logs in by sAMAccountName or userPrincipalName and keys the account by the binary objectGUID', async (t) => {
      if (!needTools(t, 'slapd', 'slapadd')) return;
      const guid = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');
      const slapd = await startSlapd(
        [
          `dn: cn=Jane Doe,ou=people,${LDAP_BASE}`,
          'objectClass: inetOrgPerson',
          'objectClass: adUser',
          'cn: Jane Doe',
          'sn: Doe',
          'mail: jdoe@berth.test',
          'sAMAccountName: jdoe',
          'userPrincipalName: jdoe@berth.test',
          `objectGUID:: ${guid.toString('base64')}`,
          'userPassword: jdoe-password',
          '',
        ].join('\n'),
        undefined,
        { adSchema: true },
      );
      const ad = (loginAttribute: string) =>
        new LdapProvider(
          ldapSettings(slapd.url, {
            userFilter: '(objectClass=adUser)',
            loginAttribute,
            idAttribute: 'objectGUID',
            groups: { strategy: 'memberOf' },
          }),
        );
      try {
        const bySam = await ad('sAMAccountName').authenticate('jdoe', 'jdoe-password');
        assert.equal(bySam?.id, guid.toString('hex'), 'the binary objectGUID, as hex');
        assert.equal(bySam?.login, 'jdoe');
        assert.equal(bySam?.fullName, 'Jane Doe');
        const byUpn = await ad('userPrincipalName').authenticate(
          'jdoe@berth.test',
          'jdoe-password',
        );
        assert.equal(byUpn?.id, bySam?.id);
        assert.equal(await ad('sAMAccountName').authenticate('jdoe', 'wrong'), undefined);
      } finally {
        await slapd.stop();
      }
    });
  },
);
