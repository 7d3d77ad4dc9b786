import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteDatabase } from './database.js';
import { Meta } from './meta.js';
import { exportLines, importLines } from './transfer.js';

describe('moving a database with small blobs and held upload bytes in it', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-transfer-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('carries every small blob byte for byte, across pages, and one set aside stays aside', async () => {
    const from = await openSqliteDatabase(path.join(dir, 'from.db'));
    const to = await openSqliteDatabase(path.join(dir, 'to.db'));
    try {
      const source = new Meta(from.db);
      const blobs = Array.from({ length: 150 }, (_, i) => {
        const bytes = randomBytes(i === 0 ? 65_536 : 100 + i);
        return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
      });
      await source.writeTransaction(async (m) => {
        for (const b of blobs) await m.inlineBlobs.put(b.digest, b.bytes);
        await m.inlineBlobs.trash(blobs[7]!.digest);
      });
      // Two unfinished uploads: one whose row holds its bytes, one whose store does.
      const repository = await source.writeTransaction((m) => m.repositories.ensure('lib/moved'));
      const held = randomBytes(3000);
      await source.uploads.create('held-upload', repository, 'alice');
      await source.uploads.advance('held-upload', held.length, held);
      await source.uploads.create('stored-upload', repository, 'alice');
      await source.uploads.advance('stored-upload', 70_000);
      const lines: string[] = [];
      for await (const line of exportLines(from.db)) lines.push(line);
      const counts = await importLines(
        to.db,
        (async function* () {
          yield* lines;
        })(),
        'sqlite',
      );
      assert.equal(counts.inline_blobs, 150);
      const target = new Meta(to.db);
      for (const [i, b] of blobs.entries()) {
        const read = await target.inlineBlobs.read(b.digest);
        if (i === 7) assert.equal(read, undefined, 'set aside, as it was');
        else assert.ok(read?.equals(b.bytes), `blob ${i}`);
      }
      assert.deepEqual(await target.inlineBlobs.trashed(), [blobs[7]!.digest]);
      const moved = await target.uploads.get('held-upload');
      assert.equal(moved?.size, 3000);
      assert.ok(moved?.held?.equals(held), 'the held bytes, byte for byte');
      const stored = await target.uploads.get('stored-upload');
      assert.equal(stored?.size, 70_000);
      assert.equal(stored?.held, undefined);
    } finally {
      await from.close();
      await to.close();
    }
  });
});
