/**
 * An upload's running hash taken over by another process: resumed from the state saved with the
 * session when it covers every byte (nothing read back from the store), else read back — a state
 * for fewer bytes, a malformed one, or none — and saved only where the store is shared.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it, type TestContext } from 'node:test';
import { digesting, digestsOffLoop, runningDigest } from '../kit/index.js';
import type { UploadRecord } from '../meta/index.js';
import { FsContentStore, type ContentStore } from '../storage/index.js';
import { UploadHashes } from './upload-hashes.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function skipWithoutAddon(t: TestContext): boolean {
  if (digestsOffLoop()) return false;
  assert.ok(!process.env.CI, 'the pooled_hash addon is not built (npm ci runs node-gyp)');
  t.skip('the pooled_hash addon (build/Release/pooled_hash.node) is not built');
  return true;
}

describe('upload hashes taken over by another process', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'berth-upload-hashes-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const files = new FsContentStore(dir);
  let reads = 0;
  /** The real filesystem store, counting read-backs, shared (`sharedUploads`) or not. */
  const store = (shared: boolean): ContentStore =>
    Object.assign(Object.create(files) as ContentStore, {
      sharedUploads: shared,
      readUpload: (id: string, length: number) => {
        reads += 1;
        return files.readUpload(id, length);
      },
    });

  /** An upload of `bytes` written by "the first replica"; its session row and saved state. */
  async function written(bytes: Buffer, shared = true) {
    const id = randomUUID();
    const first = new UploadHashes(store(shared));
    const hash = runningDigest();
    await files.createUpload(id);
    const size = await files.appendUpload(id, 0, digesting(Readable.from([bytes]), hash), () => {});
    first.set(id, size, hash);
    const upload: UploadRecord = {
      id,
      repositoryId: 1,
      repository: 'r',
      owner: null,
      size,
      createdAt: 0,
      updatedAt: 0,
    };
    return { upload, state: await first.stateToSave(id, size) };
  }

  it('resumes from a state covering every byte without reading the store', async (t) => {
    if (skipWithoutAddon(t)) return;
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    const { upload, state } = await written(bytes);
    assert.ok(state, 'a shared store saves the state');
    reads = 0;
    const other = new UploadHashes(store(true));
    const digest = await other.digestOf({ ...upload, hashState: state }, 'sha256');
    assert.equal(digest, sha(bytes));
    assert.equal(reads, 0, 'nothing read back');
  });

  it('reads the bytes back for a state of fewer bytes, a malformed one, or none', async (t) => {
    if (skipWithoutAddon(t)) return;
    const bytes = randomBytes(1024 * 1024 + 77);
    const { upload, state } = await written(bytes);
    const { state: shorter } = await written(bytes.subarray(0, 1000));
    const malformed = Buffer.from(state!);
    malformed.write('nothing!');
    for (const [what, hashState] of [
      ['fewer bytes', shorter!],
      ['malformed', malformed],
      ['none', undefined],
    ] as const) {
      reads = 0;
      const other = new UploadHashes(store(true));
      assert.equal(await other.digestOf({ ...upload, hashState }, 'sha256'), sha(bytes), what);
      assert.equal(reads, 1, `${what}: read back once`);
    }
  });

  it('keeps at most its bound of hashes, forgetting the least recently set', async (t) => {
    if (skipWithoutAddon(t)) return;
    const uploads: UploadRecord[] = [];
    for (let i = 0; i < 3; i += 1)
      uploads.push((await written(randomBytes(70_000 + i), false)).upload);
    const hashes = new UploadHashes(store(false), 2);
    const set = (i: number) => hashes.set(uploads[i]!.id, uploads[i]!.size, runningDigest());
    set(0);
    set(1);
    set(1);
    reads = 0;
    await hashes.live(uploads[0]!);
    await hashes.live(uploads[1]!);
    assert.equal(reads, 0, 'setting a hash again forgets no other');
    // The first is set again after the second: the second is then the least recently set.
    set(0);
    set(2);
    await hashes.live(uploads[0]!);
    await hashes.live(uploads[2]!);
    assert.equal(reads, 0, 'the two set last are kept');
    await hashes.live(uploads[1]!);
    assert.equal(reads, 1, 'the least recently set was forgotten, and is read back');
  });

  it('saves no state where the store is not shared, nor for a size it does not hold', async (t) => {
    if (skipWithoutAddon(t)) return;
    const { upload, state } = await written(randomBytes(70_000), false);
    assert.equal(state, null);
    const shared = new UploadHashes(store(true));
    assert.equal(await shared.stateToSave(upload.id, upload.size), null, 'not in memory here');
  });
});
