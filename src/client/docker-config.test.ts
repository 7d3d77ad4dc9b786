import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { forgetCredentials, storeCredentials, storedCredentials } from './docker-config.js';
import { parseImageRef } from './image-ref.js';

describe('docker CLI credentials', () => {
  it('reads inline auths and identity tokens, and writes what docker login writes', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-dockercfg-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        auths: {
          'a.example:5000': { auth: Buffer.from('alice:s3cret:with:colons').toString('base64') },
          'b.example': {
            auth: Buffer.from('bob:').toString('base64'),
            identitytoken: 'berth_rt_1_x',
          },
        },
      }),
    );
    assert.deepEqual(storedCredentials('a.example:5000', file), {
      kind: 'basic',
      username: 'alice',
      password: 's3cret:with:colons',
    });
    assert.deepEqual(storedCredentials('b.example', file), {
      kind: 'identity-token',
      username: 'bob',
      token: 'berth_rt_1_x',
    });
    assert.equal(storedCredentials('c.example', file), undefined);
    storeCredentials('c.example', 'carol', 'pw', file);
    assert.deepEqual(storedCredentials('c.example', file), {
      kind: 'basic',
      username: 'carol',
      password: 'pw',
    });
    assert.ok(JSON.parse(readFileSync(file, 'utf8')).auths['a.example:5000'], 'other entries kept');
    assert.equal(forgetCredentials('c.example', file), true);
    assert.equal(forgetCredentials('c.example', file), false);
  });

  it('asks credential helpers with the docker-credential protocol', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-helper-'));
    const helper = path.join(dir, 'docker-credential-berthtest');
    // A helper answering `get` for one server, as docker-credential-pass and the others do.
    writeFileSync(
      helper,
      '#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "h.example" ]; then echo \'{"ServerURL":"h.example","Username":"<token>","Secret":"berth_rt_9_y"}\'; else echo "credentials not found in native keychain"; exit 1; fi\n',
    );
    chmodSync(helper, 0o755);
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ credHelpers: { 'h.example': 'berthtest' } }));
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved}`;
    try {
      assert.deepEqual(storedCredentials('h.example', file), {
        kind: 'identity-token',
        username: '<token>',
        token: 'berth_rt_9_y',
      });
      writeFileSync(file, JSON.stringify({ credsStore: 'berthtest' }));
      assert.equal(storedCredentials('other.example', file), undefined);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('image references', () => {
  it('parses registry, repository, tag and digest, and asks for a registry', () => {
    assert.deepEqual(parseImageRef('127.0.0.1:5000/acme/app:1'), {
      registry: '127.0.0.1:5000',
      repository: 'acme/app',
      tag: '1',
      digest: undefined,
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(parseImageRef(`localhost/app@${digest}`).digest, digest);
    assert.throws(() => parseImageRef('busybox:latest'), /name the registry too/);
    assert.throws(() => parseImageRef('r.example/UPPER'), /invalid repository name/);
    assert.throws(
      () => parseImageRef('r.example/app:1', { repositoryOnly: true }),
      /without a tag/,
    );
  });
});
