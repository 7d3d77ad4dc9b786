/**
 * The permission matrix: anonymous, reader, writer, repository admin, organisation owner and
 * outsider × pull, push, delete, list, on a public and a private repository — every cell asserted,
 * once with Basic credentials on /v2 and once with tokens from /token, as clients do.
 */
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { after, before, describe, it } from 'node:test';
import { ADMIN, apiOk, createUsers, fetchToken } from '../helpers/accounts.js';
import { blob, configBlob, ociManifest, type TestBlob } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { errorCode } from '../helpers/registry-calls.js';

type Who = 'anonymous' | 'reader' | 'writer' | 'repoadmin' | 'owner' | 'outsider';
type Op = 'pull' | 'push' | 'delete' | 'list';
const WHO: Who[] = ['anonymous', 'reader', 'writer', 'repoadmin', 'owner', 'outsider'];
const OPS: Op[] = ['pull', 'push', 'delete', 'list'];

/** The expected matrix: who may do what, per visibility. */
const EXPECTED: Record<'public' | 'private', Record<Who, Op[]>> = {
  public: {
    anonymous: ['pull', 'list'],
    reader: ['pull', 'list'],
    writer: ['pull', 'push', 'list'],
    repoadmin: ['pull', 'push', 'delete', 'list'],
    owner: ['pull', 'push', 'delete', 'list'],
    outsider: ['pull', 'list'],
  },
  private: {
    anonymous: [],
    reader: ['pull', 'list'],
    writer: ['pull', 'push', 'list'],
    repoadmin: ['pull', 'push', 'delete', 'list'],
    owner: ['pull', 'push', 'delete', 'list'],
    outsider: [],
  },
};

const OCI = 'application/vnd.oci.image.manifest.v1+json';

async function adminPush(app: FastifyInstance, name: string, b: TestBlob): Promise<void> {
  const start = await app.inject({
    method: 'POST',
    url: `/v2/${name}/blobs/uploads/?digest=${b.digest}`,
    headers: { authorization: ADMIN, 'content-type': 'application/octet-stream' },
    payload: b.bytes,
  });
  assert.equal(start.statusCode, 201, start.body);
}

async function adminTag(
  app: FastifyInstance,
  name: string,
  tag: string,
  m: TestBlob,
): Promise<void> {
  const res = await app.inject({
    method: 'PUT',
    url: `/v2/${name}/manifests/${tag}`,
    headers: { authorization: ADMIN, 'content-type': OCI },
    payload: m.bytes,
  });
  assert.equal(res.statusCode, 201, res.body);
}

describe('permission matrix', () => {
  let t: TestApp;
  let creds: Record<Who, string | undefined>;
  let manifest: TestBlob;
  let cell = 0;

  before(async () => {
    t = await testApp({ auth: { mode: 'token' } });
    const users = await createUsers(t.app, ['rita', 'wendy', 'adam', 'olga', 'oscar']);
    creds = {
      anonymous: undefined,
      reader: users.rita,
      writer: users.wendy,
      repoadmin: users.adam,
      owner: users.olga,
      outsider: users.oscar,
    };
    await apiOk(t.app, 201, 'POST', '/api/v1/orgs', ADMIN, { name: 'acme', owner: 'olga' });
    await apiOk(t.app, 201, 'POST', '/api/v1/orgs/acme/teams', users.olga, { name: 'readers' });
    await apiOk(t.app, 204, 'PUT', '/api/v1/orgs/acme/teams/readers/members/rita', users.olga);
    await apiOk(t.app, 204, 'PUT', '/api/v1/orgs/acme/teams/readers/permission', users.olga, {
      level: 'read',
    });
    await apiOk(t.app, 201, 'POST', '/api/v1/orgs/acme/teams', users.olga, { name: 'writers' });
    await apiOk(t.app, 204, 'PUT', '/api/v1/orgs/acme/teams/writers/members/wendy', users.olga);
    const config = configBlob();
    const layer = blob(512);
    manifest = ociManifest(config, [layer]);
    for (const visibility of ['public', 'private'] as const) {
      const name = `acme/${visibility}`;
      await apiOk(t.app, 201, 'POST', '/api/v1/repositories', users.olga, { name, visibility });
      await apiOk(t.app, 204, 'PUT', `/api/v1/repositories/${name}/_permissions`, users.olga, {
        team: 'acme/writers',
        level: 'write',
      });
      await apiOk(t.app, 204, 'PUT', `/api/v1/repositories/${name}/_permissions`, users.olga, {
        user: 'adam',
        level: 'admin',
      });
      await adminPush(t.app, name, config);
      await adminPush(t.app, name, layer);
      await adminTag(t.app, name, 'v1', manifest);
    }
  });
  after(() => t.close());

  async function perform(
    op: Op,
    name: string,
    authorization: string | undefined,
  ): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = authorization ? { authorization } : {};
    cell += 1;
    if (op === 'pull')
      return t.app.inject({
        method: 'GET',
        url: `/v2/${name}/manifests/v1`,
        headers: { ...headers, accept: OCI },
      });
    if (op === 'push')
      return t.app.inject({
        method: 'PUT',
        url: `/v2/${name}/manifests/pushed-${cell}`,
        headers: { ...headers, 'content-type': OCI },
        payload: manifest.bytes,
      });
    if (op === 'delete') {
      await adminTag(t.app, name, `victim-${cell}`, manifest);
      return t.app.inject({
        method: 'DELETE',
        url: `/v2/${name}/manifests/victim-${cell}`,
        headers,
      });
    }
    return t.app.inject({ method: 'GET', url: `/v2/${name}/tags/list`, headers });
  }

  async function catalogHas(name: string, authorization: string | undefined): Promise<boolean> {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v2/_catalog',
      headers: authorization ? { authorization } : {},
    });
    if (res.statusCode !== 200) return false;
    return (res.json() as { repositories: string[] }).repositories.includes(name);
  }

  function assertCell(
    res: LightMyRequestResponse,
    allowed: boolean,
    who: Who,
    label: string,
  ): void {
    if (allowed) {
      assert.ok(
        res.statusCode < 300,
        `${label}: expected success, got ${res.statusCode} ${res.body}`,
      );
      return;
    }
    const status = who === 'anonymous' ? 401 : 403;
    assert.equal(res.statusCode, status, `${label}: ${res.body}`);
    assert.equal(errorCode(res), status === 401 ? 'UNAUTHORIZED' : 'DENIED', label);
    assert.match(
      String(res.headers['www-authenticate']),
      /^Bearer realm="[^"]+\/token",service="berth"/,
      label,
    );
  }

  it('the management API lists, page by page, exactly the repositories each may pull', async () => {
    for (const who of WHO) {
      const seen: string[] = [];
      let last: string | null = null;
      do {
        const query: string = `?n=1${last === null ? '' : `&last=${encodeURIComponent(last)}`}`;
        const page = await t.app.inject({
          method: 'GET',
          url: `/api/v1/repositories${query}`,
          headers: creds[who] ? { authorization: creds[who] } : {},
        });
        assert.equal(page.statusCode, 200, page.body);
        const body = page.json<{ repositories: { name: string }[]; next: string | null }>();
        assert.ok(body.repositories.length <= 1);
        seen.push(...body.repositories.map((r) => r.name));
        last = body.next;
      } while (last !== null);
      const expected = (['private', 'public'] as const)
        .filter((v) => EXPECTED[v][who].includes('pull'))
        .map((v) => `acme/${v}`);
      assert.deepEqual(seen, expected, who);
      const inNamespace = await t.app.inject({
        method: 'GET',
        url: '/api/v1/repositories?namespace=acme&n=10',
        headers: creds[who] ? { authorization: creds[who] } : {},
      });
      assert.deepEqual(
        inNamespace.json<{ repositories: { name: string }[] }>().repositories.map((r) => r.name),
        expected,
        `${who}, namespace acme`,
      );
    }
  });

  for (const visibility of ['public', 'private'] as const) {
    it(`${visibility} repository with Basic credentials`, async () => {
      const name = `acme/${visibility}`;
      for (const who of WHO)
        for (const op of OPS) {
          const allowed = EXPECTED[visibility][who].includes(op);
          const label = `${who} ${op} ${name} (basic)`;
          assertCell(await perform(op, name, creds[who]), allowed, who, label);
          if (op === 'list')
            assert.equal(await catalogHas(name, creds[who]), allowed, `${label}: catalog`);
        }
    });

    it(`${visibility} repository with tokens from /token`, async () => {
      const name = `acme/${visibility}`;
      for (const who of WHO)
        for (const op of OPS) {
          const allowed = EXPECTED[visibility][who].includes(op);
          const label = `${who} ${op} ${name} (token)`;
          const action = op === 'push' ? 'pull,push' : op === 'delete' ? 'delete' : 'pull';
          const token = await fetchToken(
            t.app,
            [`repository:${name}:${action}`, 'registry:catalog:*'],
            creds[who],
          );
          const res = await perform(op, name, `Bearer ${token}`);
          assertCell(res, allowed, who, label);
          if (!allowed)
            assert.match(
              String(res.headers['www-authenticate']),
              /error="insufficient_scope"/,
              label,
            );
          if (op === 'list')
            assert.equal(await catalogHas(name, `Bearer ${token}`), allowed, `${label}: catalog`);
        }
    });
  }
});
