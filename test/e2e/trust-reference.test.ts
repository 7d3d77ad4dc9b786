/**
 * Docker Content Trust against Berth with the real clients: the team's reference flows
 * (test/trust/reference.sh — trusted push, trust inspect, key generate/load, signer add, sign,
 * revoke, trusted pulls, TLS verification; notary init/publish/add/lookup/verify/remove,
 * witness, key rotation of every role, ECDSA and RSA delegations, delete --remote, raw probes;
 * a client with a stale cached root after two root rotations) run unchanged, Berth serving both
 * the registry and the trust API over HTTPS on one port.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { busyboxContext, startDockerd } from '../helpers/dockerd.js';
import { BERTH_BIN, removeDir, spawnBerth, tempDir } from '../helpers/server.js';
import { attempt, needTools, run } from '../helpers/tools.js';

const SCRIPT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'trust',
  'reference.sh',
);

test('the reference docker and notary trust flows pass against Berth', async (t) => {
  if (!needTools(t, 'dockerd', 'docker', 'busybox', 'notary', 'openssl', 'curl')) return;
  const base = tempDir('trust-ref');
  run('bash', [SCRIPT, 'certs'], { env: { ...process.env, BASE: base } });
  const certs = path.join(base, 'certs');
  const berth = await spawnBerth({
    args: [
      '--tls-cert',
      path.join(certs, 'notary-server.crt'),
      '--tls-key',
      path.join(certs, 'notary-server.key'),
    ],
  });
  const engine = await startDockerd();
  try {
    assert.match(berth.url, /^https:/);
    engine.docker(['build', '-q', '-t', 'local/busybox:1', busyboxContext()]);
    const result = attempt('bash', [SCRIPT, 'config', 'docker', 'notary', 'rootwalk'], {
      env: {
        ...engine.env,
        BASE: base,
        SRC_IMAGE: 'local/busybox:1',
        TRUST_URL: `https://${berth.host}`,
        REG: berth.host,
        NS: 'ref',
      },
    });
    const tail = result.output.split('\n').slice(-40).join('\n');
    assert.equal(
      result.status,
      0,
      `reference.sh failed:\n${tail}\n--- berth:\n${berth.log().slice(-3000)}`,
    );
    for (const done of ['docker flow OK', 'notary flow OK', 'rootwalk OK'])
      assert.ok(result.output.includes(done), `missing "${done}"`);
    // What the flows left behind, as Berth reports it: the tag alice and bob signed, the revoked
    // one, and the one pushed without trust.
    const status = JSON.parse(
      run(process.execPath, [
        BERTH_BIN,
        'trust',
        'status',
        'ref/busybox',
        '--json',
        '--data',
        berth.data,
      ]),
    ) as { tags: { tag: string; signed: boolean; signers: string[]; role: string | null }[] };
    const byTag = new Map(status.tags.map((s) => [s.tag, s]));
    assert.deepEqual(byTag.get('signed')?.signers, ['alice', 'bob']);
    assert.equal(byTag.get('signed')?.role, 'targets/releases');
    assert.equal(byTag.get('signed2')?.signed, false);
    assert.equal(byTag.get('unsigned')?.signed, false);
  } finally {
    await engine.stop();
    await berth.stop();
    removeDir(berth.data);
    removeDir(base);
  }
});
