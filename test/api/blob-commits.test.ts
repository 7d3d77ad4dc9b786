/**
 * An uploaded blob's commit (`Meta.blobCommits`): the blob, its link, the end of its upload, its
 * bytes kept in the database and its event, written together — on PostgreSQL as one statement
 * between the transaction's `begin` and `commit`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { testApp, type TestApp } from '../helpers/in-process.js';

const onPostgres = process.env.BERTH_TEST_DB === 'postgres';
const digest = `sha256:${'ab'.repeat(32)}`;

describe('the writes of a blob upload commit', () => {
  let t: TestApp;
  before(async () => (t = await testApp()));
  after(() => t.close());

  const commit = (uploadId: string, repositoryId: number, inline?: Buffer) =>
    t.berth.meta.writeTransaction((m) =>
      m.blobCommits.record({
        digest,
        size: 5,
        repositoryId,
        uploadId,
        inline,
        event: {
          at: Date.now(),
          type: 'blob.uploaded',
          repository: 'commits/probe',
          actor: { name: 'probe' },
          target: { repository: 'commits/probe', digest, size: 5 },
          outcome: 'success',
        },
      }),
    );

  it('records the blob, links it, ends the upload, keeps its bytes and appends its event', async () => {
    const meta = t.berth.meta;
    const repositoryId = await meta.repositories.ensure('commits/probe');
    await meta.uploads.create('commit-probe-1', repositoryId, 'probe');
    const events = (await meta.outbox.after(0, 10_000)).length;
    await commit('commit-probe-1', repositoryId, Buffer.from('hello'));
    assert.equal(await meta.blobs.linkedSize(repositoryId, digest), 5);
    assert.equal(await meta.uploads.get('commit-probe-1'), undefined);
    assert.deepEqual(await meta.inlineBlobs.read(digest), Buffer.from('hello'));
    const appended = (await meta.outbox.after(0, 10_000)).slice(events);
    assert.deepEqual(
      appended.map((e) => [e.type, e.repository, e.actor, e.target]),
      [
        [
          'blob.uploaded',
          'commits/probe',
          { name: 'probe' },
          { repository: 'commits/probe', digest, size: 5 },
        ],
      ],
    );
    // Again, after a collection trashed its bytes: they are taken back, not duplicated.
    assert.equal(await meta.inlineBlobs.trash(digest), true);
    await meta.uploads.create('commit-probe-2', repositoryId, 'probe');
    await commit('commit-probe-2', repositoryId, Buffer.from('hello'));
    assert.deepEqual(await meta.inlineBlobs.read(digest), Buffer.from('hello'));
    assert.equal(await meta.uploads.get('commit-probe-2'), undefined);
    assert.equal((await meta.outbox.after(0, 10_000)).length, events + 2);
  });

  it('rolls every write back when the transaction fails', async () => {
    const meta = t.berth.meta;
    const repositoryId = await meta.repositories.ensure('commits/failing');
    await meta.uploads.create('commit-probe-3', repositoryId, 'probe');
    const events = (await meta.outbox.after(0, 10_000)).length;
    const other = `sha256:${'cd'.repeat(32)}`;
    await assert.rejects(
      meta.writeTransaction(async (m) => {
        await m.blobCommits.record({
          digest: other,
          size: 3,
          repositoryId,
          uploadId: 'commit-probe-3',
          inline: Buffer.from('abc'),
          event: {
            at: Date.now(),
            type: 'blob.uploaded',
            repository: 'commits/failing',
            actor: {},
            target: { repository: 'commits/failing', digest: other },
            outcome: 'success',
          },
        });
        throw new Error('the transaction fails after the commit’s writes');
      }),
      /fails after/,
    );
    assert.equal(await meta.blobs.linkedSize(repositoryId, other), undefined);
    assert.equal(await meta.inlineBlobs.read(other), undefined);
    assert.notEqual(await meta.uploads.get('commit-probe-3'), undefined);
    assert.equal((await meta.outbox.after(0, 10_000)).length, events);
  });

  it(
    'sends the writes to PostgreSQL as one statement',
    { skip: !onPostgres && 'runs in the PostgreSQL pass (BERTH_TEST_DB=postgres)' },
    async () => {
      const meta = t.berth.meta;
      const repositoryId = await meta.repositories.ensure('commits/counted');
      await meta.uploads.create('commit-probe-4', repositoryId, 'probe');
      const sent: string[] = [];
      const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text;
        if (text !== undefined) sent.push(text);
        return query.apply(this, args);
      } as typeof pg.Client.prototype.query;
      try {
        await commit('commit-probe-4', repositoryId, Buffer.from('hello'));
      } finally {
        pg.Client.prototype.query = query as typeof pg.Client.prototype.query;
      }
      assert.equal(sent.length, 3, `sent: ${JSON.stringify(sent)}`);
      assert.match(sent[0]!, /^begin; select pg_advisory_xact_lock/);
      assert.match(sent[1]!, /^with "w0" as \(insert into "blobs"/);
      assert.equal(sent[2], 'commit');
      assert.equal(await meta.blobs.linkedSize(repositoryId, digest), 5);
    },
  );
});
