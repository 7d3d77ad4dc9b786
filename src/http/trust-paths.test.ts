// The Notary route grammar: checksum, then version, then plain role; GUNs with ports and slashes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTrustPath } from './trust-paths.js';

const GUN = '127.0.0.1:5000/team/app';
const sha = 'a'.repeat(64);

test('trust paths parse as notary-server routes them', () => {
  assert.deepEqual(parseTrustPath(`/v2/${GUN}/_trust/tuf/root.json`), {
    kind: 'current',
    gun: GUN,
    role: 'root',
  });
  assert.deepEqual(parseTrustPath(`/v2/${GUN}/_trust/tuf/targets/releases.json`), {
    kind: 'current',
    gun: GUN,
    role: 'targets/releases',
  });
  assert.deepEqual(parseTrustPath(`/v2/${GUN}/_trust/tuf/snapshot.${sha}.json`), {
    kind: 'checksum',
    gun: GUN,
    role: 'snapshot',
    checksum: sha,
  });
  assert.deepEqual(parseTrustPath(`/v2/${GUN}/_trust/tuf/2.root.json`), {
    kind: 'version',
    gun: GUN,
    role: 'root',
    version: 2,
  });
  assert.deepEqual(parseTrustPath(`/v2/${GUN}/_trust/tuf/timestamp.key`), {
    kind: 'key',
    gun: GUN,
    role: 'timestamp',
  });
  assert.deepEqual(parseTrustPath(`/v2/${GUN}/_trust/tuf/`), { kind: 'repository', gun: GUN });
  assert.deepEqual(parseTrustPath(`/v2/${GUN}/_trust/changefeed`), {
    kind: 'changefeed',
    gun: GUN,
  });
  assert.deepEqual(parseTrustPath('/v2/_trust/changefeed'), { kind: 'changefeed' });
});

test('anything else is METADATA_NOT_FOUND', () => {
  for (const p of [
    `/v2/${GUN}/_trust/tuf/nosuchrole.json`,
    `/v2/${GUN}/_trust/tuf/root.abc.json`,
    `/v2/${GUN}/_trust/other`,
    `/v2/a*b/_trust/tuf/root.json`,
    `/v2/${GUN}/_trust/tuf/root.key`,
  ])
    assert.throws(() => parseTrustPath(p), { code: 'METADATA_NOT_FOUND' }, p);
});
