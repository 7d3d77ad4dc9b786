/** TokenKeys on a real SQLite database: keys sealed, loaded as node:crypto keys, rotated. */
import assert from 'node:assert/strict';
import { randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { SecretBox } from '../kit/index.js';
import { Meta, openSqliteDatabase } from '../meta/index.js';
import { TokenKeys } from './token-keys.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-token-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Whether `verifying` (a public key as TokenKeys loaded it) verifies what `signing` signed. */
function signsFor(signing: TokenKeys['signing'], verifying: ReturnType<TokenKeys['verifying']>) {
  const data = Buffer.from('header.payload');
  const signature = sign('sha256', data, { key: signing.key as never, dsaEncoding: 'ieee-p1363' });
  return verify('sha256', data, { key: verifying as never, dsaEncoding: 'ieee-p1363' }, signature);
}

describe('token signing keys', () => {
  it('loads sealed keys another process made, and the old key verifies after a rotation', async () => {
    const { db, close } = await openSqliteDatabase(path.join(dir, 'berth.db'));
    const meta = new Meta(db);
    const box = new SecretBox(randomBytes(32));
    try {
      const first = await TokenKeys.open(meta, box);
      const [row] = await meta.signingKeys.all();
      assert.ok(SecretBox.isSealed(row!.privateJwk), 'the private key is sealed at rest');
      // A second process (a replica, a restart) loads the same key from the database.
      const second = await TokenKeys.open(meta, box);
      assert.equal(second.signing.kid, first.signing.kid);
      assert.ok(signsFor(first.signing, second.verifying(first.signing.kid)));
      assert.equal((second.signing.key as { type?: string }).type, 'private');
      assert.equal((second.verifying(first.signing.kid) as { type?: string }).type, 'public');

      const newKid = await second.rotate(60_000);
      assert.notEqual(newKid, first.signing.kid);
      assert.equal(second.signing.kid, newKid);
      assert.ok(signsFor(first.signing, second.verifying(first.signing.kid)), 'old key verifies');
      assert.ok(signsFor(second.signing, second.verifying(newKid)));
      assert.equal(second.jwks().keys.length, 2);
      // A key of another kind in the database is refused, not loaded as something else.
      await meta.signingKeys.add({
        kid: 'wrong-curve',
        privateJwk: box.seal(
          Buffer.from(JSON.stringify({ kty: 'EC', crv: 'P-384', x: 'AA', y: 'AA', d: 'AA' })),
          'token-signing-key\nwrong-curve',
        ),
        publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-384', x: 'AA', y: 'AA' }),
        createdAt: Date.now(),
      });
      await assert.rejects(second.reload(), /P-256/);
    } finally {
      await close();
    }
  });
});
