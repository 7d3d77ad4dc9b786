/** The Docker token service in-process: flows, refresh and access tokens, and every refusal. */
import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT, exportJWK } from 'jose';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ADMIN, apiOk, createUsers, fetchToken, USER_PASSWORD } from '../helpers/accounts.js';
import { basic, testApp, type TestApp } from '../helpers/in-process.js';
import { blob } from '../helpers/content.js';
import { errorCode } from '../helpers/registry-calls.js';

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('token service', () => {
  let t: TestApp;
  let alice: string;
  let aliceSession: string;

  before(async () => {
    t = await testApp({ auth: { mode: 'token', maxFailures: 5 } });
    alice = (await createUsers(t.app, ['alice', 'mallory'])).alice!;
    const real = await fetchToken(t.app, [], alice);
    aliceSession = (
      JSON.parse(Buffer.from(real.split('.')[1]!, 'base64url').toString()) as { sid: string }
    ).sid;
  });
  after(() => t.close());

  const v2 = (url: string, authorization?: string) =>
    t.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });

  async function claimsToken(
    claims: Record<string, unknown>,
    header: Record<string, unknown> = {},
  ): Promise<string> {
    const { kid, key } = t.berth.auth!.keys.signing;
    const now = Math.floor(Date.now() / 1000);
    const standard = {
      access: [{ type: 'repository', name: 'alice/app', actions: ['pull'] }],
      sid: aliceSession,
      iss: 'berth',
      sub: 'alice',
      aud: 'berth',
      iat: now,
      nbf: now - 1,
      exp: now + 60,
      jti: randomUUID(),
    };
    return new SignJWT({ ...standard, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid, ...header })
      .sign(key);
  }

  it('challenges on /v2/ and accepts a token, Basic credentials or refuses bad ones', async () => {
    const anon = await v2('/v2/');
    assert.equal(anon.statusCode, 401);
    assert.equal(
      anon.headers['www-authenticate'],
      'Bearer realm="http://localhost:80/token",service="berth"',
    );
    assert.equal((await v2('/v2/', alice)).statusCode, 200);
    assert.equal((await v2('/v2/', basic('alice', 'wrong-password'))).statusCode, 401);
    const token = await fetchToken(t.app, [], alice);
    assert.equal((await v2('/v2/', `Bearer ${token}`)).statusCode, 200);
    const anonToken = await fetchToken(t.app, []);
    assert.equal((await v2('/v2/', `Bearer ${anonToken}`)).statusCode, 200);
  });

  it('issues ES256 tokens with kid, published in the JWKS, granting only what is allowed', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/token?service=berth&scope=repository:alice/app:pull,push&scope=repository:mallory/app:pull,push,delete',
      headers: { authorization: alice },
    });
    assert.equal(res.statusCode, 200);
    const body = res.json() as {
      token: string;
      access_token: string;
      expires_in: number;
      issued_at: string;
      scope: string;
    };
    assert.equal(body.access_token, body.token);
    assert.equal(body.expires_in, 300);
    assert.ok(!Number.isNaN(Date.parse(body.issued_at)));
    assert.equal(body.scope, 'repository:alice/app:pull,push repository:mallory/app:');
    const [header, payload] = body.token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    assert.equal(header.alg, 'ES256');
    const jwks = (await t.app.inject({ method: 'GET', url: '/token/jwks.json' })).json() as {
      keys: { kid: string; kty: string }[];
    };
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      [header.kid],
    );
    assert.equal(jwks.keys[0]!.kty, 'EC');
    assert.equal(payload.aud, 'berth');
    assert.equal(payload.sub, 'alice');
    assert.ok(payload.exp - payload.iat === 300);
  });

  it('takes a token it issued at its first use without a signature check, at its scope and audience', async () => {
    const keys = t.berth.auth!.keys;
    const lookup = keys.lookup.bind(keys);
    let lookups = 0;
    keys.lookup = (kid) => ((lookups += 1), lookup(kid));
    try {
      const issued = await fetchToken(t.app, ['repository:alice/app:pull'], alice);
      assert.equal((await v2('/v2/', `Bearer ${issued}`)).statusCode, 200);
      assert.equal(lookups, 0, 'the token this server signed was verified again');
      const pulled = await v2('/v2/mallory/app/tags/list', `Bearer ${issued}`);
      assert.ok(
        [401, 403].includes(pulled.statusCode),
        'a remembered token granted beyond its scope',
      );
      const managed = await t.app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${issued}` },
      });
      assert.equal(
        managed.statusCode,
        401,
        'a remembered registry token opened a management session',
      );
      // One it did not issue (signed elsewhere with the same key) is checked.
      assert.equal((await v2('/v2/', `Bearer ${await claimsToken({})}`)).statusCode, 200);
      assert.equal(lookups, 1);
    } finally {
      keys.lookup = lookup;
    }
  });

  it('refuses malformed scopes and foreign services with 400', async () => {
    for (const url of [
      '/token?scope=repository:../x:pull',
      '/token?scope=nonsense',
      '/token?service=other',
    ]) {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: alice } });
      assert.equal(res.statusCode, 400, url);
      assert.equal(errorCode(res), 'INVALID_REQUEST');
    }
  });

  it('speaks the OAuth2 form: password grant with a refresh token, then refresh_token grant', async () => {
    const form = (fields: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: '/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(fields).toString(),
      });
    const first = await form({
      grant_type: 'password',
      username: 'alice',
      password: USER_PASSWORD,
      client_id: 'docker',
      access_type: 'offline',
      service: 'berth',
      scope: 'repository:alice/app:pull,push',
    });
    assert.equal(first.statusCode, 200, first.body);
    const { refresh_token, access_token } = first.json() as {
      refresh_token: string;
      access_token: string;
    };
    assert.match(refresh_token, /^berth_rt_\d+_/);
    assert.ok(access_token);
    const again = await form({
      grant_type: 'refresh_token',
      refresh_token,
      client_id: 'docker',
      service: 'berth',
      scope: 'repository:alice/app:pull',
    });
    assert.equal(again.statusCode, 200, again.body);
    const token = (again.json() as { access_token: string }).access_token;
    assert.equal((await v2('/v2/alice/app/tags/list', `Bearer ${token}`)).statusCode, 404);
    assert.equal(
      (
        await form({
          grant_type: 'refresh_token',
          refresh_token: `${refresh_token.slice(0, -2)}xx`,
        })
      ).statusCode,
      401,
    );
    assert.equal(
      (await form({ grant_type: 'password', username: 'alice', password: 'nope-nope' })).statusCode,
      401,
    );
    assert.equal((await form({ grant_type: 'client_credentials' })).statusCode, 400);
    // GET with offline_token=true gives docker login its identity token too.
    const login = await t.app.inject({
      method: 'GET',
      url: '/token?service=berth&offline_token=true&client_id=docker',
      headers: { authorization: alice },
    });
    assert.match((login.json() as { refresh_token: string }).refresh_token, /^berth_rt_/);
  });

  it('refuses tampered tokens: none, HS256 confusion, forged, altered, expired, early, foreign', async () => {
    const good = await claimsToken({});
    assert.equal((await v2('/v2/alice/app/tags/list', `Bearer ${good}`)).statusCode, 404);
    const [h, p] = good.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`;
    const jwks = JSON.stringify(t.berth.auth!.keys.jwks().keys[0]);
    const hsHeader = b64({
      alg: 'HS256',
      kid: JSON.parse(Buffer.from(h!, 'base64url').toString()).kid,
    });
    const hs = `${hsHeader}.${p}.${createHmac('sha256', jwks).update(`${hsHeader}.${p}`).digest('base64url')}`;
    const other = await generateKeyPair('ES256');
    const forged = await new SignJWT(payload)
      .setProtectedHeader({
        alg: 'ES256',
        kid: JSON.parse(Buffer.from(h!, 'base64url').toString()).kid,
      })
      .sign(other.privateKey);
    const altered = `${h}.${b64({ ...payload, access: [{ type: 'repository', name: 'mallory/app', actions: ['*'] }] })}.${good.split('.')[2]}`;
    const now = Math.floor(Date.now() / 1000);
    const expired = await claimsToken({ exp: now - 60, iat: now - 120, nbf: now - 120 });
    const early = await claimsToken({ nbf: now + 600 });
    const foreignAudience = await claimsToken({ aud: 'elsewhere' });
    const foreignIssuer = await claimsToken({ iss: 'elsewhere' });
    const unknownKey = await claimsToken({}, { kid: (await exportJWK(other.publicKey)).x });
    const cases = {
      none,
      hs,
      forged,
      altered,
      expired,
      early,
      foreignAudience,
      foreignIssuer,
      unknownKey,
    };
    for (const [label, token] of Object.entries(cases)) {
      const res = await v2('/v2/alice/app/tags/list', `Bearer ${token}`);
      assert.equal(res.statusCode, 401, `${label}: ${res.body}`);
      assert.equal(errorCode(res), 'UNAUTHORIZED', label);
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm=/, label);
    }
  });

  it('personal access tokens: scoped, last use shown, revocable, and tokens from them die too', async () => {
    const created = await apiOk(t.app, 201, 'POST', '/api/v1/tokens', alice, {
      name: 'ci',
      level: 'read',
      expiresInDays: 30,
    });
    const pat = (created.json() as { token: string; id: number }).token;
    const id = (created.json() as { id: number }).id;
    assert.match(pat, /^berth_pat_\d+_/);
    const viaPat = basic('alice', pat);
    const push = await fetchToken(t.app, ['repository:alice/app:pull,push'], viaPat);
    const pushClaims = JSON.parse(Buffer.from(push.split('.')[1]!, 'base64url').toString()) as {
      access: { actions: string[] }[];
    };
    assert.deepEqual(pushClaims.access[0]!.actions, ['pull']);
    assert.equal((await v2('/v2/', viaPat)).statusCode, 200);
    const listed = (await apiOk(t.app, 200, 'GET', '/api/v1/tokens', alice)).json() as {
      id: number;
      lastUsedAt: string | null;
      state: string;
    }[];
    const mine = listed.find((x) => x.id === id)!;
    assert.equal(mine.state, 'active');
    assert.ok(mine.lastUsedAt);
    assert.equal(
      (await apiOk(t.app, 200, 'GET', '/api/v1/tokens', basic('mallory', USER_PASSWORD))).json()
        .length,
      0,
    );
    assert.equal(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `/api/v1/tokens/${id}`,
          headers: { authorization: basic('mallory', USER_PASSWORD) },
        })
      ).statusCode,
      404,
    );
    await apiOk(t.app, 204, 'DELETE', `/api/v1/tokens/${id}`, alice);
    assert.equal((await v2('/v2/', viaPat)).statusCode, 401);
    const replay = await v2('/v2/alice/app/tags/list', `Bearer ${push}`);
    assert.equal(replay.statusCode, 401);
    assert.match(replay.body, /revoked/);
  });

  it('build credentials: good for one repository, expire, and never administer', async () => {
    const minted = await t.berth.auth!.accessTokens.mintRepositoryToken(
      'alice',
      'alice/built',
      60_000,
      'build #1',
    );
    const viaBuild = basic('alice', minted.token);
    const claimsOf = (jwt: string) =>
      JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as {
        access: { name: string; actions: string[] }[];
      };
    const own = await fetchToken(t.app, ['repository:alice/built:pull,push'], viaBuild);
    assert.deepEqual(claimsOf(own).access[0]!.actions.sort(), ['pull', 'push']);
    const other = await fetchToken(t.app, ['repository:alice/app:pull,push'], viaBuild);
    assert.deepEqual(
      claimsOf(other).access.flatMap((a) => a.actions),
      [],
      "none of the owner's other repositories",
    );
    const direct = await v2('/v2/alice/app/tags/list', viaBuild);
    assert.ok([401, 403, 404].includes(direct.statusCode), `got ${direct.statusCode}`);
    const admin = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: { authorization: viaBuild, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'buildorg' }),
    });
    assert.equal(admin.statusCode, 403, 'a build credential administers nothing');
    await t.berth.auth!.accessTokens.revokeRepositoryToken(minted.id);
    assert.equal((await v2('/v2/', viaBuild)).statusCode, 401, 'revoked when the build ends');
  });

  it('asks for the scope an upload needs: status with pull, cancel with push or delete, 401 when a new token would grant more', async () => {
    const call = (method: 'GET' | 'POST' | 'DELETE' | 'HEAD', url: string, token: string) =>
      t.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
    const push = await fetchToken(t.app, ['repository:alice/scoped:pull,push'], alice);
    const pull = await fetchToken(t.app, ['repository:alice/scoped:pull'], alice);
    const del = await fetchToken(t.app, ['repository:alice/scoped:delete'], alice);
    const start = async () => {
      const res = await call('POST', '/v2/alice/scoped/blobs/uploads/', push);
      assert.equal(res.statusCode, 202, res.body);
      return String(res.headers.location);
    };
    const first = await start();
    assert.equal((await call('GET', first, pull)).statusCode, 204);
    assert.equal((await call('HEAD', first, pull)).statusCode, 204);
    assert.equal((await call('DELETE', first, del)).statusCode, 204);
    const second = await start();
    assert.equal((await call('DELETE', second, push)).statusCode, 204);
    // A pull token of someone who may push: 401 naming the scope, so the client asks again.
    const more = await call('POST', '/v2/alice/scoped/blobs/uploads/', pull);
    assert.equal(more.statusCode, 401, more.body);
    assert.match(
      String(more.headers['www-authenticate']),
      /scope="repository:alice\/scoped:pull,push"/,
    );
    assert.match(String(more.headers['www-authenticate']), /error="insufficient_scope"/);
    // Someone a new token would not give push: 403 with the reason.
    const mallory = basic('mallory', USER_PASSWORD);
    const outsider = await fetchToken(t.app, ['repository:alice/scoped:pull,push'], mallory);
    const refused = await call('POST', '/v2/alice/scoped/blobs/uploads/', outsider);
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal(errorCode(refused), 'DENIED');
  });

  it('answers a remembered token on the hot path only for what it grants, and not once its credential is revoked', async () => {
    const call = (method: 'GET' | 'HEAD' | 'DELETE' | 'POST' | 'PUT', url: string, token: string) =>
      t.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
    const layer = blob(512);
    const push = await fetchToken(t.app, ['repository:alice/hot:pull,push'], alice);
    const start = await call('POST', '/v2/alice/hot/blobs/uploads/', push);
    assert.equal(start.statusCode, 202, start.body);
    const put = await t.app.inject({
      method: 'PUT',
      url: `${String(start.headers.location)}?digest=${layer.digest}`,
      headers: { authorization: `Bearer ${push}`, 'content-type': 'application/octet-stream' },
      payload: layer.bytes,
    });
    assert.equal(put.statusCode, 201, put.body);
    // A session of alice's own, so revoking it kills the tokens issued under it alone.
    const session = await apiOk(t.app, 201, 'POST', '/api/v1/tokens', alice, {
      name: 'hot-path',
      level: 'read',
      expiresInDays: 1,
    });
    const viaPat = basic('alice', (session.json() as { token: string }).token);
    const patId = (session.json() as { id: number }).id;
    const pull = await fetchToken(t.app, ['repository:alice/hot:pull'], viaPat);
    const blobUrl = `/v2/alice/hot/blobs/${layer.digest}`;
    for (let i = 0; i < 3; i += 1)
      assert.equal((await call('HEAD', blobUrl, pull)).statusCode, 200);
    assert.equal((await call('GET', blobUrl, pull)).body, layer.bytes.toString());
    // What the token does not grant goes the whole way and is refused as before.
    const elsewhere = await call('HEAD', `/v2/mallory/app/blobs/${layer.digest}`, pull);
    assert.ok(
      [401, 403].includes(elsewhere.statusCode),
      `another repository: ${elsewhere.statusCode}`,
    );
    const removed = await call('DELETE', blobUrl, pull);
    assert.ok([401, 403].includes(removed.statusCode), `a delete: ${removed.statusCode}`);
    const upload = await call('POST', '/v2/alice/hot/blobs/uploads/', pull);
    assert.ok([401, 403].includes(upload.statusCode), `a push: ${upload.statusCode}`);
    const catalog = await call('GET', '/v2/_catalog', pull);
    assert.equal(catalog.statusCode, 200);
    assert.ok((catalog.json() as { repositories: string[] }).repositories.includes('alice/hot'));
    // Revoked: the remembered token is refused with a challenge, not answered from the cache.
    await apiOk(t.app, 204, 'DELETE', `/api/v1/tokens/${patId}`, alice);
    const after = await call('HEAD', blobUrl, pull);
    assert.equal(after.statusCode, 401);
    assert.match(String(after.headers['www-authenticate']), /^Bearer realm=/);
  });

  it('limits failed logins per account with 429 and Retry-After, and audits them', async () => {
    await createUsers(t.app, ['guessed']);
    for (let i = 0; i < 5; i++)
      assert.equal((await v2('/v2/', basic('guessed', `wrong-${i}-password`))).statusCode, 401);
    const limited = await v2('/v2/', basic('guessed', USER_PASSWORD));
    assert.equal(limited.statusCode, 429);
    assert.equal(errorCode(limited), 'TOOMANYREQUESTS');
    assert.ok(Number(limited.headers['retry-after']) > 0);
    const audit = (
      await apiOk(t.app, 200, 'GET', '/api/v1/audit?actor=guessed&action=login', ADMIN)
    ).json() as { entries: { outcome: string; address: string }[] };
    assert.equal(audit.entries.filter((e) => e.outcome === 'failure').length, 5);
    assert.ok(audit.entries.every((e) => e.address === '127.0.0.1'));
  });
});
