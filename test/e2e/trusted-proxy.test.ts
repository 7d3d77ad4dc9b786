/**
 * Berth behind a real nginx that forwards the client's address: with `trustedProxies` naming the
 * proxy, docker logs in, pushes and pulls through it, and the audit log records the client's
 * address (not the proxy's); the proxy's connections are not counted against the per-address bound.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { busyboxContext, startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { basicAuth, request } from '../helpers/http-request.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { removeDir, spawnBerth, type SpawnedBerth } from '../helpers/server.js';
import { needTools, skipUnlessTools } from '../helpers/tools.js';

const ADMIN_PASSWORD = 'proxy-admin-password';
const PASSWORD = 'proxy-user-password';
const TOOLS = ['dockerd', 'docker', 'busybox', 'nginx'];
/** nginx connects to Berth from this loopback address, the one Berth trusts. */
const PROXY_ADDRESS = '127.0.0.3';

describe('docker through nginx with a trusted proxy', { skip: skipUnlessTools(TOOLS) }, () => {
  let berth: SpawnedBerth;
  let nginx: Nginx;
  let engine: PrivateDockerd;

  before(async () => {
    berth = await spawnBerth({
      auth: 'token',
      adminPassword: ADMIN_PASSWORD,
      env: {
        BERTH_TRUSTED_PROXIES: PROXY_ADDRESS,
        BERTH_LIMITS_CONNECTIONS_PER_ADDRESS: '2',
      },
    });
    const made = await request(berth.url, 'POST', '/api/v1/users', {
      headers: {
        authorization: basicAuth('admin', ADMIN_PASSWORD),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'alice', password: PASSWORD }),
    });
    assert.equal(made.status, 201, made.body);
    nginx = await startNginx([berth.host], { bind: PROXY_ADDRESS });
    engine = await startDockerd();
  });
  after(async () => {
    await engine?.stop();
    await nginx?.stop();
    await berth?.stop();
    if (berth) removeDir(berth.data);
  });

  it('logs in, pushes and pulls through the proxy; the audit log names the client', async (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const host = nginx.host;
    const login = engine.attempt(['login', '-u', 'alice', '--password-stdin', host], {
      input: PASSWORD,
    });
    assert.equal(login.status, 0, login.output);
    engine.docker(['build', '-q', '-t', `${host}/alice/proxied:1`, busyboxContext()]);
    assert.match(engine.docker(['push', `${host}/alice/proxied:1`]), /digest: sha256:/);
    engine.docker(['rmi', `${host}/alice/proxied:1`]);
    assert.match(
      engine.docker(['pull', `${host}/alice/proxied:1`]),
      /Downloaded newer image|up to date/,
    );
    const audit = await request(berth.url, 'GET', '/api/v1/audit?actor=alice&limit=1000', {
      headers: { authorization: basicAuth('admin', ADMIN_PASSWORD) },
    });
    assert.equal(audit.status, 200, audit.body);
    const entries = audit.json<{ entries: { action: string; address: string | null }[] }>().entries;
    const logins = entries.filter((e) => e.action === 'login');
    assert.ok(logins.length > 0, audit.body);
    for (const e of logins) assert.equal(e.address, '127.0.0.1', 'the forwarded client address');
    assert.ok(!entries.some((e) => e.address === PROXY_ADDRESS), 'never the proxy address');
  });
});
