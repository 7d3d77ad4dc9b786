/**
 * Directory providers saved through the API, in-process: presets, validation, the bind password
 * sealed at rest and never shown, edits that keep it, the configuration file's providers
 * read-only, and a saved provider in force at once (a directory that is down answers 503 while
 * local accounts keep working). Logins through a real directory are in test/e2e/ldap.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN, api, apiOk, createUsers } from '../helpers/accounts.js';
import { basic, testApp, type TestApp } from '../helpers/in-process.js';
import { errorCode } from '../helpers/registry-calls.js';

const BIND_SECRET = 'bind-secret-that-must-not-leak';

interface Listed {
  providers: {
    name: string;
    kind: string;
    source: string;
    settings?: Record<string, unknown> & { groups: { strategy: string } };
  }[];
  unusable: { name: string; problem: string }[];
}

describe('identity providers saved through the API', () => {
  let t: TestApp;
  let u: Record<string, string>;

  before(async () => {
    t = await testApp({
      auth: { mode: 'token' },
      identity: {
        providers: [
          {
            name: 'corp',
            urls: ['ldap://127.0.0.1:1'],
            bindDn: 'cn=admin,dc=corp',
            bindPassword: 'file-secret',
            userBase: 'ou=people,dc=corp',
            connectTimeoutMs: 1000,
          },
        ],
      },
    });
    u = await createUsers(t.app, ['carol']);
  });
  after(() => t.close());

  const ad = {
    name: 'ad',
    preset: 'active-directory',
    order: 5,
    urls: ['ldap://127.0.0.1:1'],
    bindDn: 'CN=svc,CN=Users,DC=example,DC=test',
    bindPassword: BIND_SECRET,
    userBase: 'CN=Users,DC=example,DC=test',
    mappings: [{ group: 'Registry Admins', admin: true }],
    connectTimeoutMs: 1000,
  };

  it('saves a provider with its preset, seals the bind password and never shows it', async () => {
    const saved = await apiOk(t.app, 201, 'POST', '/api/v1/identity/providers', ADMIN, ad);
    assert.doesNotMatch(saved.body, new RegExp(BIND_SECRET));
    const listed = (
      await apiOk(t.app, 200, 'GET', '/api/v1/identity/providers', ADMIN)
    ).json<Listed>();
    assert.doesNotMatch(JSON.stringify(listed), new RegExp(BIND_SECRET));
    assert.deepEqual(
      listed.providers.map((p) => `${p.name}:${p.kind}:${p.source}`),
      ['local:local:built-in', 'corp:ldap:file', 'ad:ldap:saved'],
    );
    const mine = listed.providers.find((p) => p.name === 'ad')!;
    assert.equal(mine.settings?.loginAttribute, 'sAMAccountName');
    assert.equal(mine.settings?.idAttribute, 'objectGUID');
    assert.equal(mine.settings?.groups.strategy, 'ad-nested');
    // At rest: sealed under the master key, not in the settings, not readable as text.
    const [row] = await t.berth.meta.identityProviders.list();
    assert.ok(row);
    assert.doesNotMatch(JSON.stringify(row), new RegExp(BIND_SECRET));
    assert.ok(row.sealedBindPassword.length > 20);
  });

  it('refuses bad settings with the field at fault, names taken, and non-administrators', async () => {
    const bad: [Record<string, unknown>, number, RegExp][] = [
      [{ ...ad, name: 'x1', urls: ['http://dc'] }, 400, /urls\.0: an ldap/],
      [{ ...ad, name: 'x2', urls: ['ldaps://dc'], startTls: true }, 400, /startTls is for ldap/],
      [{ ...ad, name: 'x3', caFile: '/etc/passwd' }, 400, /PEM text in ca/],
      [{ ...ad, name: 'local' }, 400, /local accounts/],
      [{ ...ad, name: 'x4', groups: { strategy: 'guess' } }, 400, /groups\.strategy/],
      [{ ...ad, name: 'x5', mappings: [{ group: 'g' }] }, 400, /org and a team, or admin/],
      [{ ...ad, name: 'x6', bindPassword: undefined }, 400, /bindPassword/],
      [{ ...ad }, 409, /already a provider named ad/],
      [{ ...ad, name: 'corp' }, 409, /configuration file/],
    ];
    for (const [body, status, message] of bad) {
      const res = await api(t.app, 'POST', '/api/v1/identity/providers', ADMIN, body);
      assert.equal(res.statusCode, status, `${String(body.name)}: ${res.body}`);
      assert.match(res.body, message);
    }
    const denied = await api(t.app, 'POST', '/api/v1/identity/providers', u.carol, {
      ...ad,
      name: 'mine',
    });
    assert.equal(denied.statusCode, 403);
    assert.equal(errorCode(denied), 'DENIED');
    assert.equal((await api(t.app, 'GET', '/api/v1/identity/providers', u.carol)).statusCode, 403);
    assert.equal(
      (await api(t.app, 'PUT', '/api/v1/identity/providers/corp', ADMIN, ad)).statusCode,
      409,
      'a file provider is read-only here',
    );
  });

  it('keeps the sealed bind password when an edit leaves it out, and replaces it when given', async () => {
    const before = (await t.berth.meta.identityProviders.list())[0]!.sealedBindPassword;
    // JSON leaves an undefined field out: the edit carries no bind password.
    const withoutPassword = { ...ad, bindPassword: undefined };
    await apiOk(t.app, 200, 'PUT', '/api/v1/identity/providers/ad', ADMIN, {
      ...withoutPassword,
      userBase: 'OU=Staff,DC=example,DC=test',
    });
    const edited = (await t.berth.meta.identityProviders.list())[0]!;
    assert.equal(edited.sealedBindPassword, before);
    assert.equal(edited.settings.userBase, 'OU=Staff,DC=example,DC=test');
    const renamed = await api(t.app, 'PUT', '/api/v1/identity/providers/ad', ADMIN, {
      ...ad,
      name: 'other',
    });
    assert.equal(renamed.statusCode, 400);
    await apiOk(t.app, 200, 'PUT', '/api/v1/identity/providers/ad', ADMIN, {
      ...ad,
      bindPassword: 'a-new-bind-secret',
    });
    assert.notEqual((await t.berth.meta.identityProviders.list())[0]!.sealedBindPassword, before);
    const missing = await api(t.app, 'PUT', '/api/v1/identity/providers/none', ADMIN, ad);
    assert.equal(missing.statusCode, 404);
  });

  it('puts a saved provider in force at once: a directory that is down is a 503, local logins work', async () => {
    const down = await api(t.app, 'GET', '/api/v1/me', basic('zed', 'some-password-1'));
    assert.equal(down.statusCode, 503, down.body);
    assert.match(down.body, /directory (corp|ad) is unreachable/);
    await apiOk(t.app, 200, 'GET', '/api/v1/me', u.carol);
    await apiOk(t.app, 200, 'GET', '/api/v1/me', ADMIN);
  });

  it('lists a saved provider that cannot be opened as unusable instead of failing', async () => {
    await t.berth.meta.identityProviders.put({
      name: 'broken',
      position: 50,
      settings: { urls: ['ldap://127.0.0.1:1'], bindDn: 'cn=x', userBase: 'dc=x' },
      sealedBindPassword: 'not-a-sealed-value',
      updatedBy: 'test',
    });
    await apiOk(t.app, 200, 'PUT', '/api/v1/identity/providers/ad', ADMIN, ad); // re-read now
    const listed = (
      await apiOk(t.app, 200, 'GET', '/api/v1/identity/providers', ADMIN)
    ).json<Listed>();
    assert.deepEqual(listed.unusable, [
      { name: 'broken', problem: 'its bind password does not open with this master key' },
    ]);
    await apiOk(t.app, 204, 'DELETE', '/api/v1/identity/providers/broken', ADMIN);
  });

  it('removes a saved provider, audited with every change before it', async () => {
    await apiOk(t.app, 204, 'DELETE', '/api/v1/identity/providers/ad', ADMIN);
    assert.equal(
      (await api(t.app, 'DELETE', '/api/v1/identity/providers/ad', ADMIN)).statusCode,
      404,
    );
    assert.equal(
      (await api(t.app, 'DELETE', '/api/v1/identity/providers/corp', ADMIN)).statusCode,
      409,
    );
    const listed = (
      await apiOk(t.app, 200, 'GET', '/api/v1/identity/providers', ADMIN)
    ).json<Listed>();
    assert.deepEqual(
      listed.providers.map((p) => p.name),
      ['local', 'corp'],
    );
    const audit = (
      await apiOk(t.app, 200, 'GET', '/api/v1/audit?action=identity.provider&n=100', ADMIN)
    ).json<{ entries: { action: string; target: string; actor: string }[] }>();
    const seen = audit.entries.map((e) => `${e.action} ${e.target}`);
    for (const expected of [
      'identity.provider.create ad',
      'identity.provider.update ad',
      'identity.provider.delete ad',
    ])
      assert.ok(seen.includes(expected), `${expected} in ${seen.join(', ')}`);
    assert.doesNotMatch(JSON.stringify(audit), new RegExp(BIND_SECRET));
  });
});
