/**
 * The attacks a hostile user or a local attacker tried, each replayed over real HTTP against a
 * spawned `berth serve` in token mode, with the refusal asserted: registry tokens used as
 * management sessions, access-token levels, namespace takeover, trust data under a foreign GUN,
 * oversized trust publishes, login throttling and trusted proxies, upload and connection bounds,
 * file modes and sealed keys, and the smaller leaks. Every refusal must reach the audit log.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { basicAuth, rawExchange, request, type PlainResponse } from '../helpers/http-request.js';
import {
  BERTH_BIN,
  freePort,
  removeDir,
  spawnBerth,
  tempDir,
  type SpawnedBerth,
} from '../helpers/server.js';
import {
  ecdsaKey,
  publishBody,
  rootKey,
  rootSigned,
  serverKey,
  signFile,
  targetsSigned,
} from '../helpers/tuf-builder.js';

const ADMIN_PASSWORD = 'security-admin-password';
const PASSWORD = 'security-user-password';
const ADMIN = basicAuth('admin', ADMIN_PASSWORD);
const as = (user: string): string => (user === 'admin' ? ADMIN : basicAuth(user, PASSWORD));

/** Waits for `check` to hold, polling; fails after `ms` (a bound, never a step time). */
async function waitFor(check: () => Promise<boolean> | boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function blob(text: string): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(text);
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

describe('security: the doors a hostile user tried stay shut', () => {
  let berth: SpawnedBerth;
  let url: string;
  const call = (
    method: string,
    p: string,
    authorization?: string,
    body?: unknown,
    extra: { headers?: Record<string, string>; from?: string } = {},
  ): Promise<PlainResponse> =>
    request(url, method, p, {
      from: extra.from,
      headers: {
        ...(authorization ? { authorization } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...extra.headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const ok = async (status: number, res: Promise<PlainResponse>): Promise<PlainResponse> => {
    const r = await res;
    assert.equal(r.status, status, r.body);
    return r;
  };
  const registryToken = async (user: string, scope: string): Promise<string> =>
    (
      await ok(
        200,
        call('GET', `/token?service=berth&scope=${encodeURIComponent(scope)}`, as(user)),
      )
    ).json<{ token: string }>().token;
  const pushImage = async (user: string, name: string, tag: string) => {
    const auth = `Bearer ${await registryToken(user, `repository:${name}:pull,push`)}`;
    const config = blob(
      `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"n":"${name}"}`,
    );
    await ok(
      201,
      request(url, 'POST', `/v2/${name}/blobs/uploads/?digest=${config.digest}`, {
        headers: { authorization: auth },
        body: config.bytes,
      }),
    );
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.bytes.length,
      },
      layers: [],
    });
    await ok(
      201,
      request(url, 'PUT', `/v2/${name}/manifests/${tag}`, {
        headers: {
          authorization: auth,
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
        },
        body: manifest,
      }),
    );
    return blob(manifest).digest;
  };

  before(async () => {
    berth = await spawnBerth({
      auth: 'token',
      adminPassword: ADMIN_PASSWORD,
      env: {
        BERTH_TRUSTED_PROXIES: '127.0.0.1',
        BERTH_AUTH_MAX_FAILURES: '4',
        BERTH_LIMITS_UPLOADS_PER_ACCOUNT: '3',
        BERTH_LIMITS_UPLOAD_BYTES_PER_ACCOUNT: String(1 << 20),
        BERTH_LIMITS_BODY_TIMEOUT: '1',
        BERTH_LIMITS_HEADERS_TIMEOUT: '1',
        BERTH_LIMITS_CONNECTIONS_PER_ADDRESS: '6',
        BERTH_LIMITS_TRUST_PUBLISH_BYTES: String(4 << 20),
        BERTH_LIMITS_TRUST_FILE_BYTES: String(1 << 20),
        BERTH_METRICS_AUTH: 'admin',
      },
    });
    url = berth.url;
    for (const name of ['alice', 'bob', 'carol', 'eve', 'dave'])
      await ok(201, call('POST', '/api/v1/users', ADMIN, { name, password: PASSWORD }));
  });
  after(async () => {
    await berth?.stop();
    if (berth) removeDir(berth.data);
  });

  it('1: a registry token is not a management session; a web session is not a registry token', async () => {
    await pushImage('carol', 'carol/app', 'v1');
    const pull = `Bearer ${await registryToken('carol', 'repository:carol/app:pull')}`;
    const minted = await call('POST', '/api/v1/tokens', pull, { name: 'stolen', level: 'admin' });
    assert.equal(minted.status, 401, minted.body);
    assert.match(minted.body, /registry token is not a management session/);
    assert.equal((await call('DELETE', '/api/v1/repositories/carol/app', pull)).status, 401);
    const adminPull = `Bearer ${await registryToken('admin', 'repository:carol/app:pull')}`;
    assert.equal((await call('GET', '/api/v1/users', adminPull)).status, 401);
    // The repository is still there.
    await ok(
      200,
      call('GET', '/v2/carol/app/manifests/v1', pull, undefined, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      }),
    );

    const signIn = (
      await ok(
        200,
        call('POST', '/api/v1/session', undefined, { username: 'carol', password: PASSWORD }),
      )
    ).json<{ token: string; refreshToken: string }>();
    const session = `Bearer ${signIn.token}`;
    await ok(200, call('GET', '/api/v1/me', session));
    assert.equal((await call('GET', '/v2/carol/app/tags/list', session)).status, 401);
    // Signing out ends the bearer the sign-in issued.
    await ok(
      204,
      call('DELETE', '/api/v1/session', undefined, { refreshToken: signIn.refreshToken }),
    );
    assert.equal((await call('GET', '/api/v1/me', session)).status, 401);
  });

  it('2: an access token never does more than its level', async () => {
    const mint = async (auth: string, level: string) =>
      (
        await ok(
          201,
          call('POST', '/api/v1/tokens', auth, { name: `t-${level}-${Math.random()}`, level }),
        )
      ).json<{
        id: number;
        token: string;
      }>();
    const adminRead = `Bearer ${(await mint(ADMIN, 'read')).token}`;
    const carolWrite = await mint(as('carol'), 'write');
    const carolRead = `Bearer ${(await mint(as('carol'), 'read')).token}`;
    await ok(200, call('GET', '/api/v1/me', adminRead));
    const refusals: [string, string, unknown?][] = [
      ['PUT', '/api/v1/settings', { auth: { anonymousPull: true } }],
      ['POST', '/api/v1/system/gc', {}],
      ['GET', '/api/v1/users'],
      ['GET', '/api/v1/audit'],
      ['GET', '/api/v1/tokens?user=carol'],
      ['GET', '/api/v1/settings'],
      ['DELETE', `/api/v1/tokens/${carolWrite.id}`],
      ['POST', '/api/v1/tokens', { name: 'escalate', level: 'admin' }],
    ];
    for (const [method, p, body] of refusals) {
      const res = await call(method, p, adminRead, body);
      assert.equal(res.status, 403, `${method} ${p} with an admin's read token: ${res.body}`);
    }
    const revoke = await call('DELETE', `/api/v1/tokens/${carolWrite.id}`, carolRead);
    assert.equal(revoke.status, 403, revoke.body);
    const mine = (await ok(200, call('GET', '/api/v1/tokens', as('carol')))).json<
      { id: number; state: string }[]
    >();
    assert.equal(mine.find((t) => t.id === carolWrite.id)?.state, 'active');
    // Write-level tokens do not administer either; admin-level ones do.
    const adminWrite = `Bearer ${(await mint(ADMIN, 'write')).token}`;
    assert.equal((await call('GET', '/api/v1/users', adminWrite)).status, 403);
    const adminAdmin = `Bearer ${(await mint(ADMIN, 'admin')).token}`;
    await ok(200, call('GET', '/api/v1/users', adminAdmin));
  });

  it('3: a deleted account leaves no namespace to take over', async () => {
    await pushImage('eve', 'eve/private-data', 'v1');
    const refused = await call('DELETE', '/api/v1/users/eve', ADMIN);
    assert.equal(refused.status, 409, refused.body);
    assert.match(refused.body, /eve\/private-data/);
    await ok(204, call('DELETE', '/api/v1/users/eve?repositories=delete', ADMIN));
    assert.equal((await call('GET', '/api/v1/repositories/eve/private-data', ADMIN)).status, 404);
    const takeover = await call('POST', '/api/v1/orgs', as('carol'), { name: 'eve' });
    assert.equal(takeover.status, 409, takeover.body);
    assert.match(takeover.body, /stays reserved/);
    const asUser = await call('POST', '/api/v1/users', ADMIN, { name: 'eve', password: PASSWORD });
    assert.equal(asUser.status, 409, 'an administrator frees the name first');
    // Repositories under a name no account owns are not for the taking either.
    await pushImage('admin', 'tools/base', 'v1');
    const tools = await call('POST', '/api/v1/orgs', as('carol'), { name: 'tools' });
    assert.equal(tools.status, 409, tools.body);
    assert.doesNotMatch(tools.body, /tools\/base/, 'the refusal names no private repository');
    // Freed by an administrator, the name can be taken again, empty.
    await ok(204, call('DELETE', '/api/v1/retired-names/eve', ADMIN));
    await ok(201, call('POST', '/api/v1/orgs', as('carol'), { name: 'eve' }));
    const catalog = await call(
      'GET',
      '/v2/eve/private-data/tags/list',
      `Bearer ${await registryToken('carol', 'repository:eve/private-data:pull')}`,
    );
    assert.equal(catalog.status, 404, catalog.body);
    // Transfer: the repositories move to another account, the name stays reserved.
    await pushImage('dave', 'dave/tool', 'v1');
    await ok(204, call('DELETE', '/api/v1/users/dave?repositories=transfer&to=alice', ADMIN));
    await ok(200, call('GET', '/api/v1/repositories/alice/tool', ADMIN));
    const retired = (await ok(200, call('GET', '/api/v1/retired-names', ADMIN))).json<
      { name: string }[]
    >();
    assert.ok(retired.some((r) => r.name === 'dave'));
  });

  it("4: trust data lives under the repository's one GUN; a first root needs admin", async () => {
    await pushImage('alice', 'alice/signed', 'v1');
    await ok(
      204,
      call('PUT', '/api/v1/repositories/alice/signed/_permissions', as('alice'), {
        user: 'carol',
        level: 'write',
      }),
    );
    const tokenFor = async (user: string, gun: string) =>
      `Bearer ${await registryToken(user, `repository:${gun}:pull,push`)}`;
    const publish = async (user: string, gun: string) => {
      const auth = await tokenFor(user, gun);
      const key = async (role: string) =>
        serverKey((await ok(200, call('GET', `/v2/${gun}/_trust/tuf/${role}.key`, auth))).body);
      const root = await rootKey(gun);
      const targets = ecdsaKey();
      const rootFile = signFile(
        rootSigned({
          version: 1,
          root: [root],
          targets,
          snapshot: await key('snapshot'),
          timestamp: await key('timestamp'),
        }),
        [root],
      );
      const targetsFile = signFile(
        targetsSigned({
          version: 2,
          targets: { v1: { digest: `sha256:${'ab'.repeat(32)}`, length: 10 } },
        }),
        [targets],
      );
      const { body, contentType } = publishBody({ root: rootFile, targets: targetsFile });
      return request(url, 'POST', `/v2/${gun}/_trust/tuf/`, {
        headers: { authorization: auth, 'content-type': contentType },
        body,
      });
    };
    // carol may write to alice/signed, but creating its trust data needs admin on it.
    const own = `${berth.host}/alice/signed`;
    const first = await publish('carol', own);
    assert.ok(first.status === 403 || first.status === 401, first.body);
    await ok(200, publish('alice', own));
    // The same repository under another host's GUN is refused, for the owner too.
    const foreign = await request(url, 'GET', `/v2/0.0/alice/signed/_trust/tuf/timestamp.key`, {
      headers: { authorization: await tokenFor('alice', '0.0/alice/signed') },
    });
    assert.equal(foreign.status, 404, foreign.body);
    const signers = await call('GET', '/api/v1/signatures/alice/signed', as('alice'));
    assert.equal(signers.status, 200, signers.body);
  });

  it('5: a trust publish is bounded before it is read', async () => {
    const gun = `${berth.host}/alice/big`;
    const auth = `Bearer ${await registryToken('alice', `repository:${gun}:pull,push`)}`;
    const declared = await request(url, 'POST', `/v2/${gun}/_trust/tuf/`, {
      headers: {
        authorization: auth,
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(64 << 20),
      },
    }).catch((err: Error) => ({ status: -1, body: err.message }) as PlainResponse);
    assert.equal(declared.status, 413, declared.body);
    // An undeclared (chunked) length is cut off once it passes the bound; memory stays flat.
    const rss = (): number =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${berth.child.pid}/status`, 'utf8'))![1]) *
      1024;
    const before = rss();
    const status = await new Promise<number>((resolve) => {
      const req = http.request(
        `${url}/v2/${gun}/_trust/tuf/`,
        {
          method: 'POST',
          headers: {
            authorization: auth,
            'content-type': 'multipart/form-data; boundary=b',
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', () => resolve(-1));
      const part = (i: number) =>
        Buffer.concat([
          Buffer.from(
            `--b\r\nContent-Disposition: form-data; name="files"; filename="targets/r${i}.json"\r\n\r\n`,
          ),
          Buffer.alloc(900 << 10, 0x61),
          Buffer.from('\r\n'),
        ]);
      let i = 0;
      const write = (): void => {
        while (i < 60) {
          i += 1;
          if (!req.write(part(i))) return void req.once('drain', write);
        }
        req.end('--b--\r\n');
      };
      write();
    });
    assert.ok(status === 413 || status === -1, `status ${status}`);
    assert.ok(rss() - before < 64 << 20, `RSS grew by ${(rss() - before) >> 20} MiB`);
  });

  it('6: failed logins elsewhere never lock out the right credential; forwarded addresses only from trusted proxies', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.9' };
    for (let i = 0; i < 6; i += 1)
      await call('GET', '/token?service=berth', basicAuth('bob', 'wrong'), undefined, {
        headers: attacker,
      });
    const limited = await call('GET', '/token?service=berth', as('bob'), undefined, {
      headers: attacker,
    });
    assert.equal(limited.status, 429, 'the failing address itself is refused');
    await ok(
      200,
      call('GET', '/token?service=berth', as('bob'), undefined, {
        headers: { 'x-forwarded-for': '198.51.100.7' },
      }),
    );
    const pat = (
      await ok(201, call('POST', '/api/v1/tokens', as('bob'), { name: 'ci', level: 'read' }))
    ).json<{ token: string }>().token;
    await ok(
      200,
      call('GET', '/api/v1/me', `Bearer ${pat}`, undefined, {
        headers: { 'x-forwarded-for': '198.51.100.8' },
      }),
    );
    // From an untrusted peer (127.0.0.2) X-Forwarded-For is ignored: rotating it does not help.
    for (let i = 0; i < 6; i += 1)
      await call('GET', '/token?service=berth', basicAuth('alice', 'wrong'), undefined, {
        from: '127.0.0.2',
        headers: { 'x-forwarded-for': `192.0.2.${i}` },
      });
    const rotated = await call('GET', '/token?service=berth', as('alice'), undefined, {
      from: '127.0.0.2',
      headers: { 'x-forwarded-for': '192.0.2.200' },
    });
    assert.equal(rotated.status, 429);
    await ok(200, call('GET', '/token?service=berth', as('alice')));
  });

  it('7: uploads, slow bodies, slow headers and connections are bounded', async () => {
    const auth = `Bearer ${await registryToken('alice', 'repository:alice/up:pull,push')}`;
    const locations: string[] = [];
    for (let i = 0; i < 3; i += 1)
      locations.push(
        String((await ok(202, call('POST', '/v2/alice/up/blobs/uploads/', auth))).headers.location),
      );
    const fourth = await call('POST', '/v2/alice/up/blobs/uploads/', auth);
    assert.equal(fourth.status, 429, fourth.body);
    assert.equal(fourth.json<{ errors: { code: string }[] }>().errors[0]!.code, 'TOOMANYREQUESTS');
    const big = await request(url, 'PATCH', locations[0]!, {
      headers: { authorization: auth, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(2 << 20),
    });
    assert.equal(big.status, 403, big.body);
    assert.equal(big.json<{ errors: { code: string }[] }>().errors[0]!.code, 'DENIED');
    for (const l of locations)
      await ok(204, request(url, 'DELETE', l, { headers: { authorization: auth } }));
    await ok(202, call('POST', '/v2/alice/up/blobs/uploads/', auth));

    // A body that never finishes, on an anonymous route: the connection is closed.
    const slowBody = await rawExchange(
      berth.port,
      `POST /api/v1/session HTTP/1.1\r\nHost: ${berth.host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user`,
      30_000,
    );
    assert.ok(slowBody.closed, 'a slow body is cut off');
    const slowHead = await rawExchange(
      berth.port,
      `GET /v2/ HTTP/1.1\r\nHost: ${berth.host}\r\nX-Slow: 1`,
      30_000,
    );
    assert.ok(slowHead.closed, 'slow headers are cut off');

    // Connections per address (127.0.0.2 is not a trusted proxy): the one over the bound gets 429.
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 6; i += 1) {
        const s = net.connect({ port: berth.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
        await new Promise((r) => s.once('connect', r));
        sockets.push(s);
      }
      const over = await new Promise<string>((resolve) => {
        const s = net.connect({ port: berth.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
        let data = '';
        s.on('data', (d: Buffer) => (data += d.toString()));
        s.on('close', () => resolve(data));
        s.on('error', () => resolve(data));
      });
      assert.match(over, /^HTTP\/1\.1 429/);
      assert.match(over, /TOOMANYREQUESTS/);
      await ok(200, call('GET', '/healthz'));
    } finally {
      sockets.forEach((s) => s.destroy());
    }
  });

  it("8: data files are Berth's alone, the signing key is sealed, and keys rotate", async () => {
    assert.equal(statSync(berth.data).mode & 0o777, 0o700);
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
          assert.equal(statSync(full).mode & 0o077, 0, `${full} is private`);
          walk(full);
        } else files.push(full);
      }
    };
    walk(berth.data);
    assert.ok(files.some((f) => f.endsWith('berth.db')));
    for (const f of files) assert.equal(statSync(f).mode & 0o077, 0, `${f} is private`);
    const db = new Database(path.join(berth.data, 'berth.db'), { readonly: true });
    try {
      const rows = db.prepare('select private_jwk from signing_keys').all() as {
        private_jwk: string;
      }[];
      assert.ok(rows.length > 0);
      for (const r of rows) {
        assert.match(r.private_jwk, /^v1\./);
        assert.doesNotMatch(r.private_jwk, /"d"/);
      }
    } finally {
      db.close();
    }
    const exported = spawnSync(
      process.execPath,
      [BERTH_BIN, 'db', 'export', '--data', berth.data],
      { encoding: 'utf8' },
    );
    assert.equal(exported.status, 0, exported.stderr);
    assert.doesNotMatch(exported.stdout, /\\"d\\":/);
    const old = await registryToken('alice', 'repository:alice/signed:pull');
    const rotated = spawnSync(
      process.execPath,
      [BERTH_BIN, 'keys', 'rotate', '--data', berth.data],
      { encoding: 'utf8' },
    );
    assert.equal(rotated.status, 0, rotated.stderr);
    const kid = /new token signing key (\S+);/.exec(rotated.stdout)![1]!;
    // The running server picks the new key up (it re-reads on an unknown kid and every minute).
    await waitFor(
      async () => {
        const fresh = await registryToken('alice', 'repository:alice/signed:pull');
        return JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid === kid;
      },
      120_000,
      'the new signing key',
    );
    const jwks = (await ok(200, call('GET', '/token/jwks.json'))).json<{
      keys: { kid: string }[];
    }>();
    assert.equal(jwks.keys.length, 2, 'the old key still verifies its tokens');
    await ok(200, call('GET', '/v2/alice/signed/tags/list', `Bearer ${old}`));
  });

  it('8b: an installation made before is tightened on start', async () => {
    const data = tempDir('loose');
    chmodSync(data, 0o755);
    mkdirSync(path.join(data, 'storage'), { mode: 0o755 });
    writeFileSync(path.join(data, 'storage', 'left-over'), 'x', { mode: 0o644 });
    const loose = await spawnBerth({ data, auth: 'token', adminPassword: ADMIN_PASSWORD });
    try {
      assert.equal(statSync(data).mode & 0o777, 0o700);
      assert.equal(statSync(path.join(data, 'storage')).mode & 0o777, 0o700);
      assert.equal(statSync(path.join(data, 'storage', 'left-over')).mode & 0o777, 0o600);
      assert.equal(statSync(path.join(data, 'berth.db')).mode & 0o777, 0o600);
    } finally {
      await loose.stop();
      removeDir(data);
    }
  });

  it('9: the smaller leaks', async () => {
    // A plain member cannot tell a private repository from a missing one by the push refusal.
    await ok(201, call('POST', '/api/v1/orgs', as('alice'), { name: 'acme' }));
    await ok(204, call('PUT', '/api/v1/orgs/acme/members/bob', as('alice'), { role: 'member' }));
    await pushImage('alice', 'acme/secret', 'v1');
    const refusal = async (name: string) => {
      const auth = `Bearer ${await registryToken('bob', `repository:${name}:pull,push`)}`;
      const res = await call('POST', `/v2/${name}/blobs/uploads/`, auth);
      return res.json<{ errors: { message: string }[] }>().errors[0]!.message.replace(name, 'NAME');
    };
    assert.equal(await refusal('acme/secret'), await refusal('acme/nothing-here'));
    // A Host that is not a host is refused, never reflected into a challenge.
    const evil = await rawExchange(
      berth.port,
      'GET /v2/ HTTP/1.1\r\nHost: a",scope="x\r\nConnection: close\r\n\r\n',
      10_000,
    );
    assert.match(evil.data, /^HTTP\/1\.1 400/);
    assert.doesNotMatch(evil.data, /scope="x/);
    // nosniff everywhere; metrics for administrators only.
    const base = await call('GET', '/v2/');
    assert.equal(base.headers['x-content-type-options'], 'nosniff');
    assert.equal((await call('GET', '/metrics')).status, 401);
    assert.equal((await call('GET', '/metrics', as('bob'))).status, 403);
    await ok(200, call('GET', '/metrics', ADMIN));
  });

  it('9b: HSTS under TLS, and metrics on their own listener', async () => {
    const dir = tempDir('tls');
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    const made = spawnSync(
      process.execPath,
      [BERTH_BIN, 'tls', 'self-signed', '--cert', cert, '--key', key],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) assert.fail(made.stderr);
    const metricsPort = await freePort();
    const tls = await spawnBerth({
      auth: 'token',
      adminPassword: ADMIN_PASSWORD,
      args: ['--tls-cert', cert, '--tls-key', key],
      env: { BERTH_METRICS_LISTEN: `127.0.0.1:${metricsPort}` },
    });
    try {
      const { default: https } = await import('node:https');
      const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
        https
          .get(`${tls.url}/v2/`, { rejectUnauthorized: false }, (res) => {
            res.resume();
            resolve(res.headers);
          })
          .on('error', reject);
      });
      assert.match(String(headers['strict-transport-security']), /max-age=\d+/);
      assert.equal(
        (await request(`http://127.0.0.1:${metricsPort}`, 'GET', '/metrics')).status,
        200,
      );
      const onMain = await new Promise<number>((resolve, reject) => {
        https
          .get(`${tls.url}/metrics`, { rejectUnauthorized: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject);
      });
      assert.equal(onMain, 404);
    } finally {
      await tls.stop();
      removeDir(tls.data);
      removeDir(dir);
    }
  });

  it('every refusal above is in the audit log with actor, address and reason', async () => {
    const entries = (await ok(200, call('GET', '/api/v1/audit?limit=1000', ADMIN))).json<{
      entries: {
        actor: string | null;
        action: string;
        outcome: string;
        address: string | null;
        detail: Record<string, unknown> | null;
      }[];
    }>().entries;
    const refused = entries.filter((e) => e.outcome === 'denied');
    assert.ok(
      refused.some(
        (e) => e.action === 'request.refused' && e.actor === 'admin' && e.detail?.status === 403,
      ),
    );
    assert.ok(refused.some((e) => e.action === 'request.refused' && e.detail?.status === 413));
    assert.ok(refused.some((e) => e.action === 'login' && e.address === '203.0.113.9'));
    assert.ok(refused.some((e) => e.detail?.code === 'TOOMANYREQUESTS' && e.actor === 'alice'));
    for (const e of refused) {
      assert.ok(e.address, `${e.action} has an address`);
      assert.ok(e.detail?.reason, `${e.action} has a reason`);
    }
  });
});
