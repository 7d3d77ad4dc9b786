import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Meta, openSqliteDatabase, type OpenDatabase } from '../meta/index.js';
import { PullCounter } from './pull-counter.js';

const HOUR = 3_600_000;
const pulled = { tag: 'latest', digest: `sha256:${'a'.repeat(64)}`, mediaType: 'x', size: 1 };

describe('pull counting in batches', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pull-counter-'));
  let opened: OpenDatabase;
  let meta: Meta;
  before(async () => {
    opened = await openSqliteDatabase(path.join(dir, 'meta.db'));
    meta = new Meta(opened.db);
  });
  after(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a busy client’s pulls once, and flushes early only for many distinct pulls', async () => {
    let writes = 0;
    const counter = new PullCounter(meta, { committed: () => (writes += 1) }, HOUR, undefined, 3);
    // One client pulling the same image in a loop: one event, counted up, never an early write.
    for (let i = 0; i < 5_000; i += 1)
      counter.count('team/app', pulled, { actor: 'ci', userAgent: 'docker/27' });
    await counter.flush();
    assert.equal(writes, 1, 'one write for 5,000 pulls of one image by one client');
    // Three clients make three distinct events: the third starts a write at once.
    for (const userAgent of ['docker/27', 'skopeo/1.9', 'podman/5'])
      counter.count('team/app', pulled, { actor: 'ci', userAgent });
    await counter.flush(); // waits for the early write; nothing is left to write after it
    assert.equal(writes, 2, 'the third distinct pull wrote the batch');
    const events = await opened.db
      .selectFrom('events')
      .select('target')
      .where('type', '=', 'manifest.pulled')
      .execute();
    assert.equal(events.length, 4, 'one event per client and image in each batch');
    assert.ok(events.some((row) => String(row.target).includes('"count":5000')));
  });
});
