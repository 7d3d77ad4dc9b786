import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { envName, loadConfig } from './load.js';

describe('configuration', () => {
  it('has safe defaults', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.listen, '127.0.0.1:5000');
    assert.equal(config.data, './data');
    assert.equal(config.auth.mode, 'token');
    assert.equal(config.auth.anonymousPull, true);
    assert.equal(config.repositories.defaultVisibility, 'private');
  });

  it('layers file, environment and flags, in that order', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-config-'));
    const file = path.join(dir, 'berth.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:6000\ndata: /from/file\nuploads:\n  expiry: 60\n');
    const config = loadConfig({
      file,
      env: { BERTH_DATA: '/from/env', BERTH_UPLOADS_EXPIRY: '120' },
      overrides: { data: '/from/flag' },
    });
    assert.equal(config.listen, '127.0.0.1:6000');
    assert.equal(config.data, '/from/flag');
    assert.equal(config.uploads.expiry, 120);
  });

  it('names the environment variable of each key', () => {
    assert.equal(envName(['uploads', 'sweepInterval']), 'BERTH_UPLOADS_SWEEP_INTERVAL');
    assert.equal(envName(['gc', 'untagged']), 'BERTH_GC_UNTAGGED');
  });

  it('refuses unknown keys and bad values with the key named', () => {
    assert.throws(() => loadConfig({ env: {}, overrides: { listen: 'nowhere' } }), /listen/);
    assert.throws(() => loadConfig({ env: { BERTH_AUTH_MODE: 'maybe' } }), /auth\.mode/);
    assert.equal(
      loadConfig({ env: { BERTH_AUTH_ANONYMOUS_PULL: 'false' } }).auth.anonymousPull,
      false,
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-config-'));
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'lisen: x\n');
    assert.throws(() => loadConfig({ file, env: {} }), /invalid configuration/);
  });

  it("sizes the embedded database's page cache: 4 MiB unless configured, 64 KiB at least", () => {
    assert.equal(loadConfig({ env: {} }).database.cacheBytes, 4 << 20);
    assert.equal(
      loadConfig({ env: { BERTH_DATABASE_CACHE_BYTES: '33554432' } }).database.cacheBytes,
      32 << 20,
    );
    assert.throws(
      () => loadConfig({ env: { BERTH_DATABASE_CACHE_BYTES: '1024' } }),
      /database\.cacheBytes/,
    );
  });
});
