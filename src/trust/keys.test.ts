// Key IDs and signatures against real metadata that notary-server, the docker CLI and the notary
// CLI produced (test/trust/fixtures): every signature in it verifies, every key ID recomputes.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { keyIdOf, validSigners } from './keys.js';
import { parseEnvelope, type TufKey } from './model.js';

const FIXTURES = path.resolve('test/trust/fixtures');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

test('every key ID and every signature of the captured metadata checks out', () => {
  const all = files(FIXTURES).map((f) => ({ f, file: parseEnvelope(readFileSync(f)) }));
  const keys: Record<string, TufKey> = {};
  for (const { file } of all) {
    const signed = file.signed as {
      keys?: Record<string, TufKey>;
      delegations?: { keys: Record<string, TufKey> };
    };
    Object.assign(keys, signed.keys ?? {}, signed.delegations?.keys ?? {});
  }
  assert.ok(Object.keys(keys).length >= 10);
  for (const [id, key] of Object.entries(keys)) assert.equal(keyIdOf(key), id);
  const methods = new Set<string>();
  for (const { f, file } of all) {
    const valid = validSigners(file, keys, { keyids: file.signatures.map((s) => s.keyid) });
    assert.equal(
      valid.size,
      new Set(file.signatures.map((s) => s.keyid)).size,
      `${f}: a signature does not verify`,
    );
    for (const s of file.signatures) methods.add(s.method);
  }
  assert.deepEqual([...methods].sort(), ['ecdsa', 'eddsa', 'rsapss']);
});

test('a signature over other bytes, or by a key listed under another ID, counts for nothing', () => {
  const root = parseEnvelope(readFileSync(path.join(FIXTURES, 'busybox', 'root.json')));
  const signed = root.signed as { keys: Record<string, TufKey>; version: number };
  const ids = root.signatures.map((s) => s.keyid);
  assert.equal(validSigners(root, signed.keys, { keyids: ids }).size, ids.length);
  const altered = { ...root, signed: { ...signed, version: signed.version + 1 } };
  assert.equal(validSigners(altered, signed.keys, { keyids: ids }).size, 0);
  const [id] = ids;
  const misfiled = {
    ...signed.keys,
    [id!]: Object.values(signed.keys).find((k, i) => Object.keys(signed.keys)[i] !== id)!,
  };
  assert.equal(validSigners(root, misfiled, { keyids: [id!] }).size, 0);
  assert.equal(validSigners(root, signed.keys, { keyids: [] }).size, 0, 'only allowed keys count');
});
