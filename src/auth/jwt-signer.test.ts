import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { signEs256Jwt } from './jwt-signer.js';

describe('signEs256Jwt', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('signs a JWT jose verifies, with the header and claims given', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = signEs256Jwt(
      {
        access: [{ type: 'repository', name: 'a/b', actions: ['pull'] }],
        sub: 'ann',
        exp: now + 60,
      },
      'kid-1',
      privateKey,
    );
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', kid: 'kid-1', typ: 'JWT' });
    const { payload } = await jwtVerify(token, publicKey, { algorithms: ['ES256'] });
    assert.equal(payload.sub, 'ann');
    assert.deepEqual(payload.access, [{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
    // r ‖ s, 32 bytes each (RFC 7518 3.4), not a DER sequence.
    assert.equal(Buffer.from(token.split('.')[2]!, 'base64url').length, 64);
  });

  it('is refused under another key and when a claim is changed', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = signEs256Jwt({ sub: 'ann' }, 'k', privateKey);
    await assert.rejects(jwtVerify(token, other.publicKey), /signature verification failed/);
    const [header, , signature] = token.split('.');
    const forged = `${header}.${Buffer.from('{"sub":"admin"}').toString('base64url')}.${signature}`;
    await assert.rejects(jwtVerify(forged, publicKey), /signature verification failed/);
  });
});
