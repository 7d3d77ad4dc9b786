/**
 * Online garbage collection: pushes, tag deletions and collections (grace 300 ms, untagged
 * manifests collected) run at the same time for a few seconds; afterwards every remaining tag
 * pulls completely with every blob intact, and once the grace period has passed no unreferenced
 * manifest, link or blob is left.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, it } from 'node:test';
import { blob, configBlob, ociManifest, type TestBlob } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';

const REPO = 'gc/online';
/** Far above a push's duration on a loaded machine; a push that still loses a race retries. */
const GRACE_MS = 1_500;
/** A bound on the workload, far above what it needs even on a loaded machine. */
const RUN_MS = 120_000;
let t: TestApp;

before(async () => {
  t = await testApp();
});
after(async () => t.close());

async function upload(b: TestBlob): Promise<boolean> {
  const start = await t.app.inject({ method: 'POST', url: `/v2/${REPO}/blobs/uploads/` });
  if (start.statusCode !== 202) return false;
  const done = await t.app.inject({
    method: 'PUT',
    url: `${start.headers.location}?digest=${b.digest}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: b.bytes,
  });
  return done.statusCode === 201;
}

it('keeps every tagged image whole while collecting concurrently, and leaves no garbage', async () => {
  const shared = [blob(2048), blob(4096), blob(1024)];
  // The workload runs until it has done enough of everything (however slow the machine), within a
  // generous bound; the checks below depend on what was done, never on how fast.
  const deadline = Date.now() + RUN_MS;
  const enough = (): boolean => pushes >= 20 && deletions >= 5 && collections >= 5;
  const running = (): boolean => !enough() && Date.now() < deadline;
  const live = new Set<string>();
  let pushes = 0;
  let retries = 0;
  let deletions = 0;
  let collections = 0;

  const pusher = async (worker: number) => {
    for (let i = 0; running(); i += 1) {
      const tag = `w${worker}-${i}`;
      const layers = [shared[i % shared.length]!, blob(500 + (i % 7) * 100)];
      const config = configBlob({ created: `${worker}-${i}` });
      const manifest = ociManifest(config, layers);
      // A client pushes blobs, then the manifest; a manifest refused because a collection took a
      // link in between (the push took longer than the grace period) is pushed again, as docker does.
      let pushed = false;
      for (let attempt = 0; attempt < 20 && !pushed; attempt += 1) {
        for (const b of [config, ...layers]) assert.ok(await upload(b));
        const put = await t.app.inject({
          method: 'PUT',
          url: `/v2/${REPO}/manifests/${tag}`,
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
          payload: manifest.bytes,
        });
        pushed = put.statusCode === 201;
        if (!pushed) {
          assert.match(put.body, /MANIFEST_BLOB_UNKNOWN/);
          retries += 1;
        }
      }
      assert.ok(pushed, `${tag} was pushed`);
      live.add(tag);
      pushes += 1;
    }
  };
  const deleter = async () => {
    while (running()) {
      const victim = [...live][Math.floor(Math.random() * live.size)];
      if (victim && live.size > 4) {
        live.delete(victim);
        const res = await t.app.inject({
          method: 'DELETE',
          url: `/v2/${REPO}/manifests/${victim}`,
        });
        assert.equal(res.statusCode, 202, res.body);
        deletions += 1;
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  };
  const collector = async () => {
    while (running()) {
      await t.berth.registry.gc.collect({ dryRun: false, deleteUntagged: true, graceMs: GRACE_MS });
      collections += 1;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.all([pusher(1), pusher(2), deleter(), collector()]);
  assert.ok(enough(), `${pushes} pushes, ${deletions} deletions, ${collections} collections`);

  // Every remaining tag pulls whole.
  for (const tag of live) {
    const m = await t.app.inject({
      method: 'GET',
      url: `/v2/${REPO}/manifests/${tag}`,
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(m.statusCode, 200, `${tag}: ${m.body}`);
    const parsed = JSON.parse(m.body) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    for (const d of [parsed.config.digest, ...parsed.layers.map((l) => l.digest)]) {
      const b = await t.app.inject({ method: 'GET', url: `/v2/${REPO}/blobs/${d}` });
      assert.equal(b.statusCode, 200, `${tag} lost ${d}`);
      assert.equal(`sha256:${createHash('sha256').update(b.rawPayload).digest('hex')}`, d);
    }
  }

  // Past the grace period, a collection leaves nothing unreferenced.
  await new Promise((r) => setTimeout(r, GRACE_MS + 50));
  await t.berth.registry.gc.collect({ dryRun: false, deleteUntagged: true, graceMs: GRACE_MS });
  const later = Date.now();
  const meta = t.berth.meta;
  assert.deepEqual(await meta.gc.untaggedManifests(later), [], 'no untagged manifest is left');
  assert.deepEqual(await meta.gc.unusedLinks(later), [], 'no unused blob link is left');
  assert.deepEqual(await meta.gc.orphanBlobs(later), [], 'no unreferenced blob is left');
  process.stdout.write(
    `# online gc: ${pushes} pushes (${retries} retried), ${deletions} deletions, ${collections} collections\n`,
  );
});
