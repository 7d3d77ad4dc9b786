/**
 * The writes of the two commits a push is made of, together — on PostgreSQL as one statement
 * between the transaction's `begin` and `commit`: an uploaded blob's (`Meta.blobCommits`: the
 * blob, its link, the end of its upload, its bytes kept in the database, its event) and a pushed
 * manifest's (`Meta.manifestCommits`: the manifest, its references, its tags, its events).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { testApp, type TestApp } from '../helpers/in-process.js';

const onPostgres = process.env.BERTH_TEST_DB === 'postgres';
const digest = `sha256:${'ab'.repeat(32)}`;

/**
 * The statements of the transaction in which Berth sent a statement matching `marker` to
 * PostgreSQL while `work` ran: what that connection sent from the transaction's `begin` to its
 * `commit`. (Other connections are left out: the outbox's consumers write in the background.)
 */
async function transactionSent(work: () => Promise<unknown>, marker: RegExp): Promise<string[]> {
  const sent: { client: object; text: string }[] = [];
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text;
    if (text !== undefined) sent.push({ client: this, text });
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  try {
    await work();
  } finally {
    pg.Client.prototype.query = query as typeof pg.Client.prototype.query;
  }
  const marked = sent.find((s) => marker.test(s.text));
  assert.ok(marked, `no statement matched ${marker}: ${JSON.stringify(sent.map((s) => s.text))}`);
  const own = sent.filter((s) => s.client === marked.client).map((s) => s.text);
  const at = own.indexOf(marked.text);
  const begin = at - [...own.slice(0, at + 1)].reverse().findIndex((t) => t.startsWith('begin'));
  const end = own.findIndex((t, i) => i >= at && (t === 'commit' || t === 'rollback'));
  return own.slice(begin, end + 1);
}

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
      const sent = await transactionSent(
        () => commit('commit-probe-4', repositoryId, Buffer.from('hello')),
        /insert into "blobs"/,
      );
      assert.equal(sent.length, 3, `sent: ${JSON.stringify(sent)}`);
      assert.match(sent[0]!, /^begin; select pg_advisory_xact_lock/);
      assert.match(sent[1]!, /^with "recorded" as \(insert into "blobs"/);
      assert.equal(sent[2], 'commit');
      assert.equal(await meta.blobs.linkedSize(repositoryId, digest), 5);
    },
  );
});

describe('the writes of a manifest push commit', () => {
  let t: TestApp;
  before(async () => (t = await testApp()));
  after(() => t.close());

  const sha = (c: string) => `sha256:${c.repeat(64)}`;
  const [b1, b2, b3, m1, i1] = [sha('1'), sha('2'), sha('5'), sha('3'), sha('4')];
  const manifest = (digest: string, mediaType: string) => ({
    digest,
    mediaType,
    artifactType: null,
    subject: null,
    annotations: null,
    size: 2,
    content: Buffer.from('{}'),
  });
  const pushedEvent = (tag: string) => ({
    at: Date.now(),
    type: 'manifest.pushed',
    repository: 'commits/manifests',
    actor: {},
    target: { repository: 'commits/manifests', tag },
    outcome: 'success' as const,
  });

  /** A repository holding blobs b1 (5 bytes), b2 (7) and b3 (11). */
  async function repositoryWithBlobs(name: string): Promise<number> {
    const meta = t.berth.meta;
    const repositoryId = await meta.repositories.ensure(name);
    for (const [digest, size] of [
      [b1, 5],
      [b2, 7],
      [b3, 11],
    ] as const) {
      const uploadId = `${name}-${digest.slice(7, 12)}`;
      await meta.uploads.create(uploadId, repositoryId, null);
      await meta.writeTransaction((m) =>
        m.blobCommits.record({
          digest,
          size,
          repositoryId,
          uploadId,
          event: { ...pushedEvent(''), type: 'blob.uploaded' },
        }),
      );
    }
    return repositoryId;
  }

  it('stores the manifest, its references, its tags and its events; references only when new', async () => {
    const meta = t.berth.meta;
    const repositoryId = await repositoryWithBlobs('commits/manifests');
    const events = (await meta.outbox.after(0, 10_000)).length;
    await meta.writeTransaction((m) =>
      m.manifestCommits.record({
        repositoryId,
        manifest: manifest(m1, 'application/vnd.oci.image.manifest.v1+json'),
        links: { blobs: [b1, b2, b1], children: [] },
        tags: ['one', 'two'],
        pushedBy: 'probe',
        events: [pushedEvent('one'), pushedEvent('two')],
      }),
    );
    assert.equal((await meta.manifests.get(repositoryId, m1))?.mediaType.endsWith('v1+json'), true);
    assert.equal(await meta.tags.resolve(repositoryId, 'one'), m1);
    assert.equal(await meta.tags.resolve(repositoryId, 'two'), m1);
    assert.equal(await meta.catalog.blobBytes(repositoryId, m1), 12);
    const appended = (await meta.outbox.after(0, 10_000)).slice(events);
    assert.deepEqual(
      appended.map((e) => e.target.tag),
      ['one', 'two'],
    );
    // An index listing it, with no events (a pull-through cache's copy).
    await meta.writeTransaction((m) =>
      m.manifestCommits.record({
        repositoryId,
        manifest: manifest(i1, 'application/vnd.oci.image.index.v1+json'),
        links: { blobs: [], children: [m1] },
        tags: ['idx'],
        pushedBy: null,
        events: [],
      }),
    );
    assert.deepEqual(await meta.manifests.parentsOf(repositoryId, m1), [i1]);
    assert.equal(await meta.tags.resolve(repositoryId, 'idx'), i1);
    assert.equal((await meta.outbox.after(0, 10_000)).length, events + 2);
    // The same manifest again: a new tag, but its references stay as first recorded.
    await meta.writeTransaction((m) =>
      m.manifestCommits.record({
        repositoryId,
        manifest: manifest(m1, 'application/vnd.oci.image.manifest.v1+json'),
        links: { blobs: [b3], children: [] },
        tags: ['three'],
        pushedBy: 'probe',
        events: [pushedEvent('three')],
      }),
    );
    assert.equal(await meta.tags.resolve(repositoryId, 'three'), m1);
    assert.equal(await meta.catalog.blobBytes(repositoryId, m1), 12);
  });

  it(
    'sends the writes to PostgreSQL as one statement',
    { skip: !onPostgres && 'runs in the PostgreSQL pass (BERTH_TEST_DB=postgres)' },
    async () => {
      const meta = t.berth.meta;
      const repositoryId = await repositoryWithBlobs('commits/counted-manifests');
      const sent = await transactionSent(
        () =>
          meta.writeTransaction((m) =>
            m.manifestCommits.record({
              repositoryId,
              manifest: manifest(m1, 'application/vnd.oci.image.manifest.v1+json'),
              links: { blobs: [b1, b2], children: [] },
              tags: ['latest'],
              pushedBy: 'probe',
              events: [pushedEvent('latest')],
            }),
          ),
        /insert into "manifests"/,
      );
      assert.equal(sent.length, 3, `sent: ${JSON.stringify(sent)}`);
      assert.match(sent[0]!, /^begin; select pg_advisory_xact_lock/);
      assert.equal(sent[2], 'commit');
      assert.match(sent[1]!, /^with "stored" as \(insert into "manifests"/);
      assert.match(sent[1]!, /insert into "tags"/);
      assert.match(sent[1]!, /insert into "events"/);
      assert.equal(await meta.catalog.blobBytes(repositoryId, m1), 12);
      assert.equal(await meta.tags.resolve(repositoryId, 'latest'), m1);
    },
  );
});
