/**
 * The management API behind the web UI: catalog figures, sorting and pages; search (docker's
 * /v1/search and /api/v1/search) limited to what the caller may see; tag and manifest details;
 * tag deletion rights; pull counting; web sessions; settings with their winning source; system
 * page and background GC.
 */
import assert from 'node:assert/strict';
import { waitUntil } from '../helpers/wait.js';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { ADMIN, api, apiOk, createUsers } from '../helpers/accounts.js';
import { blob, configBlob, ociIndex, ociManifest } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { pushBlob, putManifest } from '../helpers/registry-calls.js';

let t: TestApp;
let users: Record<string, string>;

async function pushImage(name: string, tag: string, layerBytes: number, architecture = 'amd64') {
  const config = configBlob({
    architecture,
    history: [
      { created_by: '/bin/sh -c #(nop) ADD file:abc in /' },
      { created_by: '/bin/sh -c #(nop)  ENV A=b', empty_layer: true },
      { created_by: '/bin/sh -c make install' },
    ],
  });
  const layers = [blob(layerBytes), blob(100)];
  for (const b of [config, ...layers]) await pushBlob(t.app, name, b);
  const manifest = ociManifest(config, layers);
  const res = await t.app.inject({
    method: 'PUT',
    url: `/v2/${name}/manifests/${tag}`,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', authorization: ADMIN },
    payload: manifest.bytes,
  });
  assert.equal(res.statusCode, 201, res.body);
  return manifest;
}

before(async () => {
  t = await testApp({ auth: { mode: 'token' } });
  users = await createUsers(t.app, ['alice', 'bob']);
  // Pushes through Basic credentials (the registry accepts them).
  const inject = t.app.inject.bind(t.app) as (
    o: InjectOptions,
  ) => ReturnType<FastifyInstance['inject']>;
  t.app.inject = ((o: InjectOptions) => {
    if (String(o.url).startsWith('/v2/') && !o.headers?.authorization)
      return inject({ ...o, headers: { ...o.headers, authorization: ADMIN } });
    return inject(o);
  }) as FastifyInstance['inject'];
  await pushImage('alice/web', '1.0', 5000);
  await pushImage('alice/web', '2.0', 9000);
  await pushImage('alice/cowsay', 'latest', 20_000);
  await apiOk(t.app, 200, 'PATCH', '/api/v1/repositories/alice/cowsay', ADMIN, {
    visibility: 'public',
    description: 'Moo says the cow',
  });
  await pushImage('bob/tool', 'x', 100);
});
after(async () => t.close());

describe('the catalog and search', () => {
  it('lists repositories with sizes, tag counts and pushes, sorted and paged', async () => {
    const res = await apiOk(t.app, 200, 'GET', '/api/v1/catalog?sort=size&n=2', ADMIN);
    const page = res.json() as {
      total: number;
      pages: number;
      namespaces: string[];
      repositories: { name: string; size: number; tags: number; pushedAt: string | null }[];
    };
    assert.equal(page.total, 3);
    assert.equal(page.pages, 2);
    assert.deepEqual(page.namespaces, ['alice', 'bob']);
    assert.deepEqual(
      page.repositories.map((r) => r.name),
      ['alice/cowsay', 'alice/web'],
    );
    assert.equal(page.repositories[1]!.tags, 2);
    assert.ok(page.repositories[0]!.size > 20_000);
    assert.ok(page.repositories[0]!.pushedAt);
    const second = (
      await apiOk(t.app, 200, 'GET', '/api/v1/catalog?sort=size&n=2&page=2', ADMIN)
    ).json() as {
      repositories: { name: string }[];
    };
    assert.deepEqual(
      second.repositories.map((r) => r.name),
      ['bob/tool'],
    );
    const bad = await api(t.app, 'GET', '/api/v1/catalog?sort=stars', ADMIN);
    assert.equal(bad.statusCode, 400);
  });

  it('shows each caller only what they may see, signed out included', async () => {
    const names = async (auth?: string) =>
      (
        (await apiOk(t.app, 200, 'GET', '/api/v1/catalog', auth)).json() as {
          repositories: { name: string }[];
        }
      ).repositories.map((r) => r.name);
    assert.deepEqual(await names(users.alice), ['alice/cowsay', 'alice/web']);
    assert.deepEqual(await names(users.bob), ['alice/cowsay', 'bob/tool']);
    assert.deepEqual(await names(), ['alice/cowsay']);
  });

  it('pages in the database: private repositories a grant opens, search words taken literally', async () => {
    const names = async (path: string, auth?: string) =>
      (
        (await apiOk(t.app, 200, 'GET', path, auth)).json() as {
          total: number;
          repositories: { name: string }[];
        }
      ).repositories.map((r) => r.name);
    // A read grant on alice/web lets bob see it, in listings, pages, counts and search alike.
    await apiOk(t.app, 204, 'PUT', '/api/v1/repositories/alice/web/_permissions', users.alice, {
      user: 'bob',
      level: 'read',
    });
    try {
      assert.deepEqual(await names('/api/v1/catalog', users.bob), [
        'alice/cowsay',
        'alice/web',
        'bob/tool',
      ]);
      assert.deepEqual(await names('/api/v1/catalog?n=1&page=2&order=desc', users.bob), [
        'alice/web',
      ]);
      const page = (await apiOk(t.app, 200, 'GET', '/api/v1/catalog?n=1', users.bob)).json() as {
        total: number;
        pages: number;
      };
      assert.deepEqual([page.total, page.pages], [3, 3]);
      const found = (await apiOk(t.app, 200, 'GET', '/api/v1/search?q=web', users.bob)).json() as {
        total: number;
      };
      assert.equal(found.total, 1);
      assert.deepEqual(
        await names('/api/v1/catalog?namespace=alice&visibility=private', users.bob),
        ['alice/web'],
      );
    } finally {
      await apiOk(
        t.app,
        204,
        'DELETE',
        '/api/v1/repositories/alice/web/_permissions?user=bob',
        users.alice,
      );
    }
    assert.deepEqual(await names('/api/v1/catalog', users.bob), ['alice/cowsay', 'bob/tool']);
    // LIKE's wildcards in a search are characters to find, not patterns.
    for (const q of ['%25', '_', '%5C'])
      assert.equal(
        (
          (await t.app.inject({ method: 'GET', url: `/v1/search?q=${q}` })).json() as {
            num_results: number;
          }
        ).num_results,
        0,
        `q=${q}`,
      );
  });

  it("pages a repository's tags with a total and the tag to go on after", async () => {
    type Page = { tags: { tag: string }[]; total: number; next: string | null };
    const first = (
      await apiOk(t.app, 200, 'GET', '/api/v1/images/alice/web/tags?n=1', users.alice)
    ).json() as Page;
    assert.deepEqual([first.tags.map((x) => x.tag), first.total, first.next], [['1.0'], 2, '1.0']);
    const second = (
      await apiOk(t.app, 200, 'GET', '/api/v1/images/alice/web/tags?n=1&last=1.0', users.alice)
    ).json() as Page;
    assert.deepEqual(
      [second.tags.map((x) => x.tag), second.total, second.next],
      [['2.0'], 2, null],
    );
    const whole = (
      await apiOk(t.app, 200, 'GET', '/api/v1/images/alice/web/tags', users.alice)
    ).json() as Page;
    assert.deepEqual([whole.tags.length, whole.total, whole.next], [2, 2, null]);
  });

  it('ranks search results by name, then description, in docker search and the UI alike', async () => {
    const docker = await t.app.inject({ method: 'GET', url: '/v1/search?q=cow&n=25' });
    assert.equal(docker.statusCode, 200);
    const body = docker.json() as {
      num_results: number;
      results: { name: string; description: string; star_count: number }[];
    };
    assert.equal(body.num_results, 1);
    assert.deepEqual(body.results[0], {
      name: 'alice/cowsay',
      description: 'Moo says the cow',
      star_count: 0,
      is_official: false,
      is_automated: false,
      is_trusted: false,
    });
    const byDescription = await t.app.inject({ method: 'GET', url: '/v1/search?q=moo' });
    assert.equal((byDescription.json() as { num_results: number }).num_results, 1);
    const hidden = await t.app.inject({ method: 'GET', url: '/v1/search?q=web' });
    assert.equal(
      (hidden.json() as { num_results: number }).num_results,
      0,
      'private repositories stay hidden',
    );
    const asAlice = await t.app.inject({
      method: 'GET',
      url: '/v1/search?q=web',
      headers: { authorization: users.alice! },
    });
    assert.equal((asAlice.json() as { num_results: number }).num_results, 1);
    const ui = (await apiOk(t.app, 200, 'GET', '/api/v1/search?q=alice', users.alice)).json() as {
      results: { name: string }[];
    };
    assert.deepEqual(
      ui.results.map((r) => r.name),
      ['alice/cowsay', 'alice/web'],
    );
    const ping = await t.app.inject({ method: 'GET', url: '/v1/_ping' });
    assert.equal(ping.statusCode, 200);
  });
});

describe('image details', () => {
  it('lists tags with size, platform, pusher, and shows layers with their history', async () => {
    const { tags } = (
      await apiOk(t.app, 200, 'GET', '/api/v1/images/alice/web/tags', users.alice)
    ).json() as {
      tags: {
        tag: string;
        size: number;
        platforms: { os: string; architecture: string }[];
        pushedBy: string;
        signed: boolean;
      }[];
    };
    assert.deepEqual(
      tags.map((x) => x.tag),
      ['1.0', '2.0'],
    );
    assert.deepEqual(tags[0]!.platforms, [{ os: 'linux', architecture: 'amd64' }]);
    assert.equal(tags[0]!.pushedBy, 'admin');
    assert.equal(tags[0]!.signed, false);
    assert.ok(tags[1]!.size > 9000);
    const view = (
      await apiOk(t.app, 200, 'GET', '/api/v1/images/alice/web/manifests/1.0', users.alice)
    ).json() as {
      layers: { size: number; createdBy: string }[];
      emptyHistory: { createdBy: string }[];
      referrers: unknown[];
    };
    assert.equal(view.layers.length, 2);
    assert.equal(view.layers[0]!.size, 5000);
    assert.match(view.layers[1]!.createdBy, /make install/);
    assert.match(view.emptyHistory[0]!.createdBy, /ENV A=b/);
    assert.deepEqual(view.referrers, []);
    const hidden = await api(t.app, 'GET', '/api/v1/images/alice/web/tags', users.bob);
    assert.equal(hidden.statusCode, 404);
  });

  it('shows the platforms of an index and its size over every platform', async () => {
    const amd = await pushImage('alice/multi', 'amd', 1000, 'amd64');
    const arm = await pushImage('alice/multi', 'arm', 2000, 'arm64');
    const index = ociIndex([
      { manifest: amd, architecture: 'amd64' },
      { manifest: arm, architecture: 'arm64' },
    ]);
    const res = await putManifest(
      t.app,
      'alice/multi',
      'all',
      index,
      'application/vnd.oci.image.index.v1+json',
    );
    assert.equal(res.statusCode, 201, res.body);
    const { tags } = (
      await apiOk(t.app, 200, 'GET', '/api/v1/images/alice/multi/tags', ADMIN)
    ).json() as {
      tags: {
        tag: string;
        size: number;
        platforms: { architecture: string }[];
      }[];
    };
    const all = tags.find((x) => x.tag === 'all')!;
    assert.deepEqual(
      all.platforms.map((p) => p.architecture),
      ['amd64', 'arm64'],
    );
    assert.ok(all.size > 3000);
    const view = (
      await apiOk(t.app, 200, 'GET', '/api/v1/images/alice/multi/manifests/all', ADMIN)
    ).json() as {
      platforms: { architecture: string; digest: string }[];
    };
    assert.equal(view.platforms[1]!.digest, arm.digest);
  });

  it('deletes a tag for repository admins only, and audits it', async () => {
    const refused = await api(
      t.app,
      'DELETE',
      '/api/v1/images/alice/cowsay/tags/latest',
      users.bob,
    );
    assert.equal(refused.statusCode, 403);
    await apiOk(t.app, 204, 'DELETE', '/api/v1/images/alice/web/tags/2.0', users.alice);
    const tags = (
      (await apiOk(t.app, 200, 'GET', '/api/v1/images/alice/web/tags', users.alice)).json() as {
        tags: { tag: string }[];
      }
    ).tags;
    assert.deepEqual(
      tags.map((x) => x.tag),
      ['1.0'],
    );
    // Audited from the outbox, by the consumer that follows it.
    await waitUntil(async () => {
      const found = (
        await apiOk(t.app, 200, 'GET', '/api/v1/audit?action=tag.delete', ADMIN)
      ).json() as { entries: { actor: string; detail: { reference: string } }[] };
      return found.entries.some((e) => e.actor === 'alice' && e.detail.reference === '2.0');
    }, 'the tag deletion in the audit log');
  });

  it('counts pulls by GET (in batches) with the last pull per tag', async () => {
    const pull = async (userAgent: string) => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/v2/alice/cowsay/manifests/latest',
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json', 'user-agent': userAgent },
      });
      assert.equal(res.statusCode, 200);
    };
    for (let i = 0; i < 2; i += 1) await pull('docker/27');
    await pull('skopeo/1.9');
    await t.berth.registry.pulls.flush();
    // One event (and audit entry) per client and image in a batch, with how many pulls it stands for.
    await waitUntil(async () => {
      const found = (
        await apiOk(t.app, 200, 'GET', '/api/v1/audit?action=manifest.pull', ADMIN)
      ).json() as { entries: { detail: { count?: number; lastAt?: number } }[] };
      const counts = found.entries.map((e) => e.detail.count ?? 1).sort();
      return counts.length === 2 && counts[0] === 1 && counts[1] === 2;
    }, 'two pull entries in the audit log, one of them for two pulls');
    const page = (await apiOk(t.app, 200, 'GET', '/api/v1/catalog?sort=pulls', ADMIN)).json() as {
      repositories: { name: string; pulls: number; lastPulledAt: string | null }[];
    };
    assert.equal(page.repositories[0]!.name, 'alice/cowsay');
    assert.equal(page.repositories[0]!.pulls, 3);
    const { tags } = (
      await apiOk(t.app, 200, 'GET', '/api/v1/images/alice/cowsay/tags', ADMIN)
    ).json() as {
      tags: {
        lastPulledAt: string | null;
      }[];
    };
    assert.ok(tags[0]!.lastPulledAt);
  });
});

describe('web sessions, settings and the system page', () => {
  it('signs in with a password, renews with the refresh token, and signs out', async () => {
    const bad = await api(t.app, 'POST', '/api/v1/session', undefined, {
      username: 'alice',
      password: 'nope',
    });
    assert.equal(bad.statusCode, 401);
    const session = (
      await apiOk(t.app, 200, 'POST', '/api/v1/session', undefined, {
        username: 'alice',
        password: 'user-password-1',
      })
    ).json() as {
      token: string;
      refreshToken: string;
      user: { name: string };
    };
    assert.equal(session.user.name, 'alice');
    const me = await apiOk(t.app, 200, 'GET', '/api/v1/me', `Bearer ${session.token}`);
    assert.equal((me.json() as { name: string }).name, 'alice');
    const renewed = (
      await apiOk(t.app, 200, 'POST', '/api/v1/session/token', undefined, {
        refreshToken: session.refreshToken,
      })
    ).json() as {
      token: string;
    };
    await apiOk(t.app, 200, 'GET', '/api/v1/me', `Bearer ${renewed.token}`);
    await apiOk(t.app, 204, 'DELETE', '/api/v1/session', undefined, {
      refreshToken: session.refreshToken,
    });
    const after = await api(t.app, 'POST', '/api/v1/session/token', undefined, {
      refreshToken: session.refreshToken,
    });
    assert.equal(after.statusCode, 401);
    const dead = await api(t.app, 'GET', '/api/v1/me', `Bearer ${renewed.token}`);
    assert.equal(dead.statusCode, 401, 'tokens of an ended session stop working');
  });

  it('saves settings for the next start, validates them, and names the winning source', async () => {
    const refused = await api(t.app, 'PUT', '/api/v1/settings', users.alice, {
      domain: 'x.example',
    });
    assert.equal(refused.statusCode, 403);
    const invalid = await api(t.app, 'PUT', '/api/v1/settings', ADMIN, { domain: 'not a host' });
    assert.equal(invalid.statusCode, 400);
    assert.match(invalid.body, /domain must be a host name/);
    const badTls = await api(t.app, 'PUT', '/api/v1/settings', ADMIN, {
      tls: { cert: 'x', key: 'y' },
    });
    assert.equal(badTls.statusCode, 400);
    const saved = (
      await apiOk(t.app, 200, 'PUT', '/api/v1/settings', ADMIN, {
        domain: 'registry.example.test',
        auth: { tokenTtl: 120, anonymousPull: false, defaultVisibility: 'public' },
      })
    ).json() as {
      settings: {
        key: string;
        running: unknown;
        saved: unknown;
        source: string;
        pendingRestart: boolean;
      }[];
    };
    const byKey = new Map(saved.settings.map((s) => [s.key, s]));
    assert.deepEqual(byKey.get('domain'), {
      key: 'domain',
      running: null,
      saved: 'registry.example.test',
      source: 'ui',
      pendingRestart: true,
    });
    assert.equal(byKey.get('auth.tokenTtl')!.saved, 120);
    // auth.mode came from the test's own overrides (a flag); the data directory likewise.
    const unchanged = byKey.get('storage.backend')!;
    assert.equal(unchanged.source, 'default');
    assert.equal(unchanged.pendingRestart, false);
  });

  it('reports the system and runs a garbage collection in the background', async () => {
    const info = (await apiOk(t.app, 200, 'GET', '/api/v1/system', ADMIN)).json() as {
      health: string;
      storage: { blobs: number; bytes: number };
      database: { repositories: number };
    };
    assert.equal(info.health, 'ok');
    assert.ok(info.storage.blobs > 0);
    assert.equal(info.database.repositories, 4);
    assert.equal((await api(t.app, 'GET', '/api/v1/system', users.alice)).statusCode, 403);
    const started = (
      await apiOk(t.app, 202, 'POST', '/api/v1/system/gc', ADMIN, { dryRun: true })
    ).json() as { state: string };
    assert.equal(started.state, 'running');
    let state = started.state;
    for (let i = 0; i < 100 && state === 'running'; i += 1) {
      await new Promise((r) => setTimeout(r, 20));
      state = (
        (await apiOk(t.app, 200, 'GET', '/api/v1/system/gc', ADMIN)).json() as { state: string }
      ).state;
    }
    assert.equal(state, 'done');
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /berth_gc_runs_total\{outcome="done"\} 1/);
  });
});
