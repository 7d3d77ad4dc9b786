/**
 * kill -9 at random points of a concurrent push / delete / garbage-collection workload, round
 * after round on one data directory. After each restart: every acknowledged tag pulls whole, every
 * interrupted upload is either finished, resumable (and then finishes), or 404 — never a 5xx —
 * and once the uploads are gone no blob file is left on disk — and no small blob in the database
 * (configs are pushed whole, so they are kept there) — that the database does not record.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { blob, configBlob, ociManifest, sha256, type TestBlob } from '../helpers/content.js';
import { removeDir, spawnBerth, tempDir, type SpawnedBerth } from '../helpers/server.js';

const ROUNDS = Number(process.env.BERTH_CRASH_ROUNDS ?? 12);
const WORKERS = 3;
const OCI = 'application/vnd.oci.image.manifest.v1+json';

interface OpenUpload {
  location: string;
  content: TestBlob;
  /** Bytes the server acknowledged. */
  acked: number;
}

interface State {
  /** tag → manifest digest and blobs, for every acknowledged push not acknowledged deleted. */
  tags: Map<string, { digest: string; blobs: TestBlob[] }>;
  uploads: OpenUpload[];
  /** Tags whose deletion was sent but not answered when the server died: either outcome is right. */
  deleting: Set<string>;
  /** Server errors seen (never expected). */
  errors: string[];
}

function check5xx(state: State, what: string, res: Response): Response {
  if (res.status >= 500) state.errors.push(`${what}: ${res.status}`);
  return res;
}

/**
 * Pushes a blob in two chunks — or, `whole`, in the PUT that completes it (a small one is then
 * written with its record into the database) — recording the open upload until it is finished.
 */
async function pushBlob(
  url: string,
  name: string,
  b: TestBlob,
  state: State,
  whole = false,
): Promise<boolean> {
  const start = check5xx(
    state,
    'POST',
    await fetch(`${url}/v2/${name}/blobs/uploads/`, { method: 'POST' }),
  );
  if (start.status !== 202) return false;
  const upload: OpenUpload = { location: start.headers.get('location')!, content: b, acked: 0 };
  state.uploads.push(upload);
  const half = whole ? 0 : Math.floor(b.size / 2);
  if (half > 0) {
    const patch = check5xx(
      state,
      'PATCH',
      await fetch(`${url}${upload.location}`, {
        method: 'PATCH',
        headers: { 'content-range': `0-${half - 1}`, 'content-type': 'application/octet-stream' },
        body: Uint8Array.from(b.bytes.subarray(0, half)),
      }),
    );
    if (patch.status !== 202) return false;
    upload.acked = half;
  }
  const put = check5xx(
    state,
    'PUT',
    await fetch(`${url}${upload.location}?digest=${b.digest}`, {
      method: 'PUT',
      headers: { 'content-range': `${half}-${b.size - 1}` },
      body: Uint8Array.from(b.bytes.subarray(half)),
    }),
  );
  if (put.status !== 201) return false;
  state.uploads.splice(state.uploads.indexOf(upload), 1);
  return true;
}

/** One worker: pushes images, now and then deletes an older tag; stops at the first failure. */
async function worker(url: string, id: number, round: number, state: State): Promise<void> {
  for (let i = 0; ; i++) {
    const layer = blob(randomInt(50_000, 400_000));
    const config = configBlob({ worker: id, round, i });
    if (!(await pushBlob(url, 'crash/rounds', layer, state))) return;
    if (!(await pushBlob(url, 'crash/rounds', config, state, true))) return;
    const m = ociManifest(config, [layer]);
    const tag = `w${id}-r${round}-${i}`;
    const put = check5xx(
      state,
      'PUT manifest',
      await fetch(`${url}/v2/crash/rounds/manifests/${tag}`, {
        method: 'PUT',
        headers: { 'content-type': OCI },
        body: Uint8Array.from(m.bytes),
      }),
    );
    if (put.status !== 201) return;
    state.tags.set(tag, { digest: m.digest, blobs: [layer, config] });
    if (i % 3 === 2) {
      const old = [...state.tags.keys()].find((t) => t.startsWith(`w${id}-`));
      if (!old) continue;
      state.deleting.add(old);
      const del = check5xx(
        state,
        'DELETE',
        await fetch(`${url}/v2/crash/rounds/manifests/${old}`, { method: 'DELETE' }),
      );
      if (del.status !== 202) return;
      state.tags.delete(old);
      state.deleting.delete(old);
    }
  }
}

/** Every acknowledged tag pulls whole, with every blob matching its digest. */
async function checkTags(url: string, state: State): Promise<void> {
  for (const [tag, { digest, blobs }] of state.tags) {
    const m = await fetch(`${url}/v2/crash/rounds/manifests/${tag}`, { headers: { accept: OCI } });
    if (state.deleting.has(tag)) {
      // Its deletion may have committed before the kill: gone is as right as present.
      state.deleting.delete(tag);
      if (m.status === 404) {
        state.tags.delete(tag);
        continue;
      }
    }
    assert.equal(m.status, 200, `acknowledged tag ${tag}`);
    assert.equal(m.headers.get('docker-content-digest'), digest);
    for (const b of blobs) {
      const res = await fetch(`${url}/v2/crash/rounds/blobs/${b.digest}`);
      assert.equal(res.status, 200, `blob of ${tag}`);
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), b.digest);
    }
  }
}

/** Each interrupted upload is finished, resumable (then finished here), or 404. */
async function settleUploads(url: string, state: State): Promise<void> {
  for (const u of state.uploads.splice(0)) {
    const status = await fetch(`${url}${u.location}`);
    assert.ok(status.status === 204 || status.status === 404, `upload status ${status.status}`);
    if (status.status === 404) continue;
    const range = status.headers.get('range') ?? '0-0';
    // `0-0` is an empty upload (chunks here are far longer than one byte).
    const have = range === '0-0' ? 0 : Number(range.split('-')[1]) + 1;
    assert.ok(have >= u.acked, `upload kept what was acknowledged (${have} < ${u.acked})`);
    const done = await fetch(`${url}${u.location}?digest=${u.content.digest}`, {
      method: 'PUT',
      headers: have < u.content.size ? { 'content-range': `${have}-${u.content.size - 1}` } : {},
      body: have < u.content.size ? Uint8Array.from(u.content.bytes.subarray(have)) : undefined,
    });
    assert.equal(done.status, 201, `resumed upload: ${await done.text()}`);
  }
}

/** The tags the outbox saw pushed (and not deleted after), by the events it kept. */
function tagsInOutbox(data: string): Set<string> {
  const db = new Database(path.join(data, 'berth.db'), { readonly: true });
  try {
    const rows = db
      .prepare(
        `select type, target from events where type in ('manifest.pushed', 'tag.deleted') order by id`,
      )
      .all() as { type: string; target: string }[];
    const tags = new Set<string>();
    for (const r of rows) {
      const tag = (JSON.parse(r.target) as { tag?: string }).tag;
      if (!tag) continue;
      if (r.type === 'manifest.pushed') tags.add(tag);
      else tags.delete(tag);
    }
    return tags;
  } finally {
    db.close();
  }
}

/** The tags whose push the audit log recorded (it reads the outbox, once per event). */
function auditedPushes(data: string): string[] {
  const db = new Database(path.join(data, 'berth.db'), { readonly: true });
  try {
    const rows = db
      .prepare(`select detail from audit_log where action = 'manifest.push'`)
      .all() as { detail: string }[];
    return rows.map((r) => (JSON.parse(r.detail) as { reference: string }).reference);
  } finally {
    db.close();
  }
}

function orphanBlobFiles(data: string): string[] {
  const root = path.join(data, 'storage', 'blobs', 'sha256');
  if (!existsSync(root)) return [];
  const files = readdirSync(root).flatMap((p) => readdirSync(path.join(root, p)));
  const db = new Database(path.join(data, 'berth.db'), { readonly: true });
  try {
    const known = new Set(
      (db.prepare('select digest from blobs').all() as { digest: string }[]).map((r) => r.digest),
    );
    return files.filter((f) => !known.has(`sha256:${f}`));
  } finally {
    db.close();
  }
}

/** Small blobs kept in the database whose blob the database does not record. */
function orphanInlineRows(data: string): string[] {
  const db = new Database(path.join(data, 'berth.db'), { readonly: true });
  try {
    return (
      db
        .prepare('select digest from inline_blobs where digest not in (select digest from blobs)')
        .all() as { digest: string }[]
    ).map((r) => r.digest);
  } finally {
    db.close();
  }
}

/** How many small blobs the database keeps (the workload's configs, pushed whole). */
function inlineRowCount(data: string): number {
  const db = new Database(path.join(data, 'berth.db'), { readonly: true });
  try {
    return (db.prepare('select count(*) as n from inline_blobs').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('kill -9 at random points of a push/delete/GC workload', () => {
  const data = tempDir('crash-rounds');
  after(() => removeDir(data));

  it(`keeps every invariant over ${ROUNDS} rounds`, async () => {
    const env = { BERTH_GC_INTERVAL: '1', BERTH_GC_GRACE: '1', BERTH_GC_UNTAGGED: 'delete' };
    const state: State = { tags: new Map(), uploads: [], errors: [], deleting: new Set() };
    let server: SpawnedBerth | undefined;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        server = await spawnBerth({ data, env });
        await checkTags(server.url, state);
        await settleUploads(server.url, state);
        const work = Array.from({ length: WORKERS }, (_, id) =>
          worker(server!.url, id, round, state).catch(() => undefined),
        );
        await new Promise((resolve) => setTimeout(resolve, randomInt(150, 1500)));
        await server.kill();
        await Promise.all(work);
      }
      server = await spawnBerth({ data, env });
      await checkTags(server.url, state);
      await settleUploads(server.url, state);
      // Discarding every upload left (none should be) removes bytes a crash left uncommitted.
      assert.deepEqual(state.errors, [], 'no server error during the workload');
      await server.stop();
      assert.deepEqual(orphanBlobFiles(data), [], 'no blob file the database does not know');
      assert.deepEqual(orphanInlineRows(data), [], 'no small blob the database does not record');
      assert.ok(inlineRowCount(data) > 0, 'the configs pushed whole are kept in the database');
      // The outbox lost no acknowledged push and kept no deletion that was not acknowledged.
      const recorded = tagsInOutbox(data);
      for (const tag of state.tags.keys())
        assert.ok(recorded.has(tag), `the push of ${tag} has its event`);
      // The audit log got each of them exactly once, whatever the kills interrupted.
      const audited = auditedPushes(data);
      for (const tag of state.tags.keys())
        assert.equal(audited.filter((t) => t === tag).length, 1, `${tag} is audited once`);
      assert.ok(state.tags.size > 0, 'the workload acknowledged pushes');
    } finally {
      await server?.kill();
    }
  });
});
