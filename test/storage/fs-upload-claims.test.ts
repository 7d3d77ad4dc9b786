/**
 * The filesystem store where replicas share its folder and the database (each write under a
 * claim, with an `UploadNote`): a write whose claim lapsed, or whose store write failed, never
 * writes into the file a later write goes on in; an unbroken run of claims keeps one file and
 * copies nothing; a blob never holds bytes past the upload's recorded size. The notes are made by
 * hand as the database's claims make them (serials one after another; the record a write leaves
 * saved only when its claim ended, by recording progress or by giving it up).
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { FsContentStore, type UploadNote } from '../../src/storage/index.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function filled(size: number, byte: number): Buffer {
  return Buffer.alloc(size, byte);
}

describe('the filesystem store on a folder replicas share', () => {
  let root: string;
  let store: FsContentStore;
  before(async () => {
    root = await tempDir('berth-fs-claims-');
    // Through the page cache: each write lands when the test says, not when a direct block fills.
    store = new FsContentStore(root, { directWrites: false });
  });
  after(() => removeDir(root));

  const blobFile = (digest: string): string => {
    const hex = digest.slice('sha256:'.length);
    return path.join(root, 'blobs', 'sha256', hex.slice(0, 2), hex);
  };

  /** A whole write under `note` (the claim's write stored all it read). */
  const write = (id: string, offset: number, bytes: Buffer, note: UploadNote): Promise<number> =>
    store.appendUpload(id, offset, Readable.from([bytes]), () => undefined, bytes.length, note);

  /** A new upload holding `first`, written whole under claim 1; its id and claim 1's note. */
  const started = async (first: Buffer): Promise<{ id: string; one: UploadNote }> => {
    const id = randomUUID();
    await store.createUpload(id);
    const one: UploadNote = { serial: 1 };
    await write(id, 0, first, one);
    return { id, one };
  };

  /** A write under `note` from `offset` whose body is read from the stream returned, once begun. */
  const begun = async (id: string, offset: number, note: UploadNote) => {
    const body = new PassThrough();
    const written = store.appendUpload(id, offset, body, () => undefined, undefined, note);
    await waitUntil(() => body.listenerCount('data') > 0, 'the write to begin');
    return { body, written };
  };

  /** Stages and commits the upload under `note` as `bytes`' digest; the blob file's bytes. */
  const commit = async (id: string, bytes: Buffer, note: UploadNote): Promise<Buffer> => {
    const digest = digestOf(bytes);
    await store.stageUpload(id, digest, bytes.length, note);
    await store.commitUpload(id, digest, note);
    await store.releaseUpload(id);
    return fs.readFile(blobFile(digest));
  };

  it('a write whose claim lapsed, landing after the write that took the upload over, never reaches the blob', async () => {
    const first = filled(1000, 0x61);
    const later = filled(500, 0x62);
    const { id, one } = await started(first);
    // Claim 2 starts writing at 1000 and stalls (its process frozen) until its claim lapses.
    const two: UploadNote = { serial: 2, record: one.record };
    const { body: stalled, written: lapsed } = await begun(id, 1000, two);
    // Claim 3 reads the record claim 1 left (claim 2 never recorded) and writes other bytes.
    const three: UploadNote = { serial: 3, record: one.record };
    assert.equal(await write(id, 1000, later, three), 1500);
    // The stalled write wakes and lands its bytes (2 MiB, over and past claim 3's).
    stalled.end(filled(2 * MiB, 0x78));
    await lapsed;
    const blob = await commit(id, Buffer.concat([first, later]), {
      serial: 4,
      record: three.record,
    });
    assert.equal(blob.length, 1500);
    assert.ok(blob.equals(Buffer.concat([first, later])), 'the blob holds the recorded bytes');
    assert.ok(!existsSync(path.join(root, 'claimed', id)), 'the upload leaves no claimed file');
  });

  it('a write after one whose store write failed goes on in a copy of the recorded bytes', async () => {
    const first = filled(3000, 0x63);
    const { id, one } = await started(first);
    const two: UploadNote = { serial: 2, record: one.record };
    const { body: failing, written: failed } = await begun(id, 3000, two);
    failing.write(filled(MiB + 1, 0x79));
    failing.destroy(new Error('the client went away'));
    await assert.rejects(failed);
    // Claim 2 gave its claim up: its record is saved, and says its write did not end whole.
    const three: UploadNote = { serial: 3, record: two.record };
    const later = filled(10, 0x64);
    await write(id, 3000, later, three);
    const claimed = path.join(root, 'claimed', id, '3');
    assert.equal((await fs.stat(claimed)).size, 3010, 'claim 3 writes a file of its own');
    const upload = Buffer.concat([first, later]);
    const blob = await commit(id, upload, { serial: 4, record: three.record });
    assert.ok(blob.equals(upload));
  });

  it('claims one after another, each write whole, keep one file and copy nothing', async () => {
    const id = randomUUID();
    const parts = [filled(MiB, 1), filled(MiB, 2), filled(7, 3)];
    await store.createUpload(id);
    let record: Buffer | undefined;
    let offset = 0;
    for (const [i, part] of parts.entries()) {
      const note: UploadNote = { serial: i + 1, record };
      offset = await write(id, offset, part, note);
      record = note.record;
    }
    const upload = Buffer.concat(parts);
    const digest = digestOf(upload);
    const note: UploadNote = { serial: 4, record };
    await store.stageUpload(id, digest, upload.length, note);
    assert.ok(!existsSync(path.join(root, 'claimed', id)), 'no claimed file was made');
    await store.commitUpload(id, digest, note);
    assert.ok((await fs.readFile(blobFile(digest))).equals(upload));
    await store.releaseUpload(id);
  });

  it('a blob never holds bytes a write stored past the recorded end', async () => {
    // A chunk stored whole and then refused (longer than its range): the upload records 1000.
    const first = filled(1000, 0x65);
    for (const shared of [true, false]) {
      const id = randomUUID();
      await store.createUpload(id);
      const one: UploadNote = { serial: 1 };
      await store.appendUpload(
        id,
        0,
        Readable.from([first]),
        () => undefined,
        1000,
        shared ? one : undefined,
      );
      const two: UploadNote = { serial: 2, record: one.record };
      const extra = Readable.from([filled(700, 0x7a)]);
      await store.appendUpload(id, 1000, extra, () => undefined, 100, shared ? two : undefined);
      const note: UploadNote | undefined = shared ? { serial: 3, record: two.record } : undefined;
      const digest = digestOf(first);
      await store.stageUpload(id, digest, 1000, note);
      await store.commitUpload(id, digest, note);
      await store.releaseUpload(id);
      assert.ok((await fs.readFile(blobFile(digest))).equals(first), `shared: ${shared}`);
    }
  });

  it('reads an upload from its recorded file, and removes and lists uploads with claimed files', async () => {
    const first = filled(100, 0x66);
    const { id, one } = await started(first);
    // Claim 2 lapsed unrecorded: claim 3 copies.
    const three: UploadNote = { serial: 3, record: one.record };
    await write(id, 100, filled(50, 0x67), three);
    const chunks: Buffer[] = [];
    for await (const c of store.readUpload(id, 150, three)) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(Buffer.concat([first, filled(50, 0x67)])));
    // An upload whose own file is gone but whose claimed file is left is still listed.
    await fs.unlink(path.join(root, 'uploads', id));
    assert.ok((await store.listUploads()).includes(id));
    await store.deleteUpload(id);
    assert.ok(!(await store.listUploads()).includes(id));
    assert.ok(!existsSync(path.join(root, 'claimed', id)));
  });
});
