/** The management API in-process: users, organisations, teams, repositories, audit, OpenAPI. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN, api, apiOk, createUsers, USER_PASSWORD } from '../helpers/accounts.js';
import { basic, testApp, type TestApp } from '../helpers/in-process.js';
import { errorCode } from '../helpers/registry-calls.js';

describe('management API', () => {
  let t: TestApp;
  let u: Record<string, string>;

  before(async () => {
    t = await testApp({ auth: { mode: 'token' } });
    u = await createUsers(t.app, ['carol', 'dave']);
  });
  after(() => t.close());

  it('serves an OpenAPI document describing every route', async () => {
    const doc = (await apiOk(t.app, 200, 'GET', '/api/v1/openapi.json')).json() as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/users']!.post!.requestBody);
    assert.ok(doc.paths['/api/v1/repositories/{name}/_permissions']!.put);
    assert.ok(doc.paths['/api/v1/retired-names/{name}']!.delete);
    assert.ok(doc.paths['/api/v1/namespaces/{namespace}/webhooks']!.post!.requestBody);
    assert.ok(doc.paths['/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver']!.post);
    assert.ok(Object.keys(doc.paths).length >= 15);
  });

  it('creates users (administrators only) and refuses bad names, weak passwords and duplicates', async () => {
    const bad = [
      [{ name: 'Bad Name', password: USER_PASSWORD }, 400, /lowercase/],
      [{ name: 'erin', password: 'short' }, 400, /at least 8/],
      [{ name: 'carol', password: USER_PASSWORD }, 409, /taken/],
      [{ name: 'v2', password: USER_PASSWORD }, 400, /reserved/],
      [{ name: 'erin' }, 400, /password/],
    ] as const;
    for (const [body, status, message] of bad) {
      const res = await api(t.app, 'POST', '/api/v1/users', ADMIN, body);
      assert.equal(res.statusCode, status, res.body);
      assert.match(res.body, message);
    }
    const denied = await api(t.app, 'POST', '/api/v1/users', u.carol, {
      name: 'erin',
      password: USER_PASSWORD,
    });
    assert.equal(denied.statusCode, 403);
    assert.equal(errorCode(denied), 'DENIED');
    assert.equal((await api(t.app, 'GET', '/api/v1/users')).statusCode, 401);
    assert.equal((await api(t.app, 'GET', '/api/v1/users', u.carol)).statusCode, 403);
    const names = (
      (await apiOk(t.app, 200, 'GET', '/api/v1/users', ADMIN)).json() as { name: string }[]
    ).map((x) => x.name);
    assert.deepEqual(names, ['admin', 'carol', 'dave']);
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { authorization: ADMIN, 'content-type': 'application/json' },
      payload: '{nope',
    });
    assert.equal(malformed.statusCode, 400);
  });

  it('changes passwords with the current one, and keeps the last administrator', async () => {
    const wrong = await api(t.app, 'PATCH', '/api/v1/users/dave', u.dave, {
      password: 'new-password-2',
      currentPassword: 'not-it-at-all',
    });
    assert.equal(wrong.statusCode, 403);
    await apiOk(t.app, 200, 'PATCH', '/api/v1/users/dave', u.dave, {
      password: 'new-password-2',
      currentPassword: USER_PASSWORD,
    });
    assert.equal((await api(t.app, 'GET', '/api/v1/me', u.dave)).statusCode, 401);
    const me = (
      await apiOk(t.app, 200, 'GET', '/api/v1/me', basic('dave', 'new-password-2'))
    ).json() as { name: string };
    assert.equal(me.name, 'dave');
    assert.equal(
      (
        await api(t.app, 'PATCH', '/api/v1/users/dave', basic('dave', 'new-password-2'), {
          admin: true,
        })
      ).statusCode,
      403,
    );
    const last = await api(t.app, 'DELETE', '/api/v1/users/admin', ADMIN);
    assert.equal(last.statusCode, 409);
    assert.match(last.body, /last administrator/);
  });

  it('runs organisations: owners, members, teams, and refuses non-owners', async () => {
    await apiOk(t.app, 201, 'POST', '/api/v1/orgs', u.carol, { name: 'widgets' });
    assert.equal(
      (
        await api(t.app, 'POST', '/api/v1/orgs/widgets/teams', basic('dave', 'new-password-2'), {
          name: 'ops',
        })
      ).statusCode,
      403,
    );
    await apiOk(t.app, 201, 'POST', '/api/v1/orgs/widgets/teams', u.carol, {
      name: 'ops',
      description: 'operations',
    });
    await apiOk(t.app, 204, 'PUT', '/api/v1/orgs/widgets/teams/ops/members/dave', u.carol);
    const org = (
      await apiOk(t.app, 200, 'GET', '/api/v1/orgs/widgets', basic('dave', 'new-password-2'))
    ).json() as {
      members: { name: string; role: string }[];
      teams: { name: string; memberCount: number }[];
    };
    assert.deepEqual(org.members, [
      { name: 'carol', role: 'owner' },
      { name: 'dave', role: 'member' },
    ]);
    assert.deepEqual(
      org.teams.map((x) => [x.name, x.memberCount]),
      [['ops', 1]],
    );
    const lastOwner = await api(t.app, 'DELETE', '/api/v1/orgs/widgets/members/carol', u.carol);
    assert.equal(lastOwner.statusCode, 409);
    await apiOk(t.app, 201, 'POST', '/api/v1/repositories', u.carol, {
      name: 'widgets/gear',
      visibility: 'private',
      description: '# Gear',
    });
    const busy = await api(t.app, 'DELETE', '/api/v1/orgs/widgets', u.carol);
    assert.equal(busy.statusCode, 409);
    assert.equal(
      (await api(t.app, 'POST', '/api/v1/repositories', u.carol, { name: 'widgets/gear' }))
        .statusCode,
      409,
    );
    const elsewhere = await api(t.app, 'POST', '/api/v1/repositories', u.carol, {
      name: 'dave/mine',
    });
    assert.equal(elsewhere.statusCode, 403);
    assert.match(elsewhere.body, /namespace dave belongs to another user/);
  });

  it('shows repositories by visibility and lets their admins change it', async () => {
    const anonymousList = (await apiOk(t.app, 200, 'GET', '/api/v1/repositories')).json() as {
      repositories: unknown[];
    };
    assert.equal(anonymousList.repositories.length, 0);
    assert.equal((await api(t.app, 'GET', '/api/v1/repositories/widgets/gear')).statusCode, 404);
    const daveCant = await api(
      t.app,
      'PATCH',
      '/api/v1/repositories/widgets/gear',
      basic('dave', 'new-password-2'),
      { visibility: 'public' },
    );
    assert.equal(daveCant.statusCode, 404);
    const changed = (
      await apiOk(t.app, 200, 'PATCH', '/api/v1/repositories/widgets/gear', u.carol, {
        visibility: 'public',
      })
    ).json() as { visibility: string; access: string; description: string };
    assert.deepEqual(
      [changed.visibility, changed.access, changed.description],
      ['public', 'admin', '# Gear'],
    );
    const seen = (await apiOk(t.app, 200, 'GET', '/api/v1/repositories/widgets/gear')).json() as {
      access: string;
    };
    assert.equal(seen.access, 'read');
    const tags = await t.app.inject({ method: 'GET', url: '/v2/widgets/gear/tags/list' });
    assert.equal(tags.statusCode, 200);
    await apiOk(t.app, 204, 'PUT', '/api/v1/repositories/widgets/gear/_permissions', u.carol, {
      team: 'widgets/ops',
      level: 'write',
    });
    const perms = (
      await apiOk(t.app, 200, 'GET', '/api/v1/repositories/widgets/gear/_permissions', u.carol)
    ).json();
    assert.deepEqual(perms, [{ team: 'widgets/ops', level: 'write' }]);
    const foreignTeam = await api(
      t.app,
      'PUT',
      '/api/v1/repositories/widgets/gear/_permissions',
      u.carol,
      { team: 'other/ops', level: 'read' },
    );
    assert.equal(foreignTeam.statusCode, 400);
    await apiOk(t.app, 204, 'DELETE', '/api/v1/repositories/widgets/gear', u.carol);
    assert.equal(
      (await api(t.app, 'GET', '/api/v1/repositories/widgets/gear', u.carol)).statusCode,
      404,
    );
  });

  it('records every change with who, what, when and from where', async () => {
    const log = (await apiOk(t.app, 200, 'GET', '/api/v1/audit?n=1000', ADMIN)).json() as {
      entries: {
        actor: string;
        action: string;
        target: string;
        outcome: string;
        address: string;
        at: string;
      }[];
    };
    const actions = log.entries.map((e) => `${e.actor} ${e.action} ${e.target}`);
    for (const expected of [
      'admin user.create carol',
      'carol org.create widgets',
      'carol team.create widgets/ops',
      'carol team.member.add widgets/ops',
      'carol repository.create widgets/gear',
      'carol repository.update widgets/gear',
      'carol permission.set widgets/gear',
      'carol repository.delete widgets/gear',
      'dave user.update dave',
    ])
      assert.ok(actions.includes(expected), `missing audit entry: ${expected}`);
    assert.ok(
      log.entries.every((e) => e.address === '127.0.0.1' && !Number.isNaN(Date.parse(e.at))),
    );
    const filtered = (
      await apiOk(t.app, 200, 'GET', '/api/v1/audit?actor=carol&action=repository', ADMIN)
    ).json() as { entries: { action: string }[] };
    assert.deepEqual([...new Set(filtered.entries.map((e) => e.action))].sort(), [
      'repository.create',
      'repository.delete',
      'repository.update',
    ]);
    assert.equal((await api(t.app, 'GET', '/api/v1/audit', u.carol)).statusCode, 403);
  });
});

describe('anonymous access switched off', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp({ auth: { mode: 'token', anonymousPull: false } });
    await apiOk(t.app, 201, 'POST', '/api/v1/repositories', ADMIN, {
      name: 'admin/open',
      visibility: 'public',
    });
  });
  after(() => t.close());

  it('refuses anonymous tokens and anonymous pulls of public repositories', async () => {
    const token = await t.app.inject({
      method: 'GET',
      url: '/token?service=berth&scope=repository:admin/open:pull',
    });
    assert.equal(token.statusCode, 401);
    const pull = await t.app.inject({ method: 'GET', url: '/v2/admin/open/tags/list' });
    assert.equal(pull.statusCode, 401);
    const signedIn = await t.app.inject({
      method: 'GET',
      url: '/v2/admin/open/tags/list',
      headers: { authorization: ADMIN },
    });
    assert.equal(signedIn.statusCode, 200);
  });
});
