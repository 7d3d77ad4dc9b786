/** An in-process Berth (Fastify `inject()`), with its own data directory, for fast HTTP tests. */
import type { FastifyInstance, InjectOptions } from 'fastify';
import { ensureAdministrator } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { composeBerth, type Berth } from '../../src/cli/index.js';
import { buildHttpServer } from '../../src/http/index.js';
import pg from 'pg';
import type { S3Settings } from '../../src/storage/index.js';
import { testBucket } from './s3.js';
import { removeDir, tempDir } from './server.js';

/** An app to inject requests into, and a way to dispose of it. */
export interface TestApp {
  app: FastifyInstance;
  berth: Berth;
  data: string;
  close(): Promise<void>;
}

/** The administrator's password in test apps with auth on. */
export const TEST_ADMIN_PASSWORD = 'test-admin-password';

/** Basic credentials for `user`:`password`. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

const REPOSITORY_PATH =
  /^\/v2\/(.+)\/(?:manifests\/[^/]+|blobs\/uploads\/?[^/]*|blobs\/[^/]+|tags\/list|referrers\/[^/]+)$/;

/**
 * Makes every injected registry request carry a bearer token for its repository, fetched from
 * /token as the administrator the way a client does (and cached per scope).
 */
function injectWithTokens(app: FastifyInstance): void {
  const inject = app.inject.bind(app) as (
    o: InjectOptions,
  ) => ReturnType<FastifyInstance['inject']>;
  const tokens = new Map<string, string>();
  const tokenFor = async (scopes: string[]): Promise<string> => {
    const key = scopes.join(' ');
    const cached = tokens.get(key);
    if (cached) return cached;
    const query = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&');
    const res = await inject({
      method: 'GET',
      url: `/token?service=berth&${query}`,
      headers: { authorization: basic('admin', TEST_ADMIN_PASSWORD) },
    });
    const token = (res.json() as { token: string }).token;
    tokens.set(key, token);
    return token;
  };
  app.inject = (async (options: InjectOptions) => {
    const url = String(options.url ?? '');
    if (!url.startsWith('/v2') || options.headers?.authorization !== undefined)
      return inject(options);
    const path = url.split('?')[0]!;
    const name = REPOSITORY_PATH.exec(path)?.[1];
    const scopes = name ? [`repository:${name}:pull,push,delete`] : ['registry:catalog:*'];
    const from = new URLSearchParams(url.split('?')[1] ?? '').get('from');
    if (from) scopes.push(`repository:${from}:pull`);
    const authorization = `Bearer ${await tokenFor(scopes)}`;
    return inject({ ...options, headers: { ...options.headers, authorization } });
  }) as FastifyInstance['inject'];
}

let databases = 0;

/**
 * A fresh PostgreSQL database on the server `BERTH_TEST_PG` names (`postgres://berth@127.0.0.1:5433`)
 * when `BERTH_TEST_DB=postgres`; undefined otherwise (the embedded SQLite is used).
 */
export async function freshPostgresUrl(): Promise<string | undefined> {
  if (process.env.BERTH_TEST_DB !== 'postgres') return undefined;
  const base = process.env.BERTH_TEST_PG;
  if (!base)
    throw new Error('BERTH_TEST_DB=postgres needs BERTH_TEST_PG (a server URL without database)');
  databases += 1;
  const name = `berth_test_${process.pid}_${databases}`;
  const client = new pg.Client({ connectionString: `${base}/postgres` });
  await client.connect();
  try {
    await client.query(`drop database if exists ${name}`);
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  return `${base}/${name}`;
}

/** Drops a database made by `freshPostgresUrl`. */
export async function dropPostgres(url: string): Promise<void> {
  const name = url.slice(url.lastIndexOf('/') + 1);
  const client = new pg.Client({
    connectionString: `${url.slice(0, url.lastIndexOf('/'))}/postgres`,
  });
  await client.connect();
  try {
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}

/** The `storage` configuration that keeps blobs in the test bucket `bucket`. */
export function s3Storage(bucket: S3Settings): Record<string, unknown> {
  return {
    backend: 's3',
    s3: {
      bucket: bucket.bucket,
      prefix: bucket.prefix,
      endpoint: bucket.endpoint,
      accessKeyId: bucket.accessKeyId,
      secretAccessKey: bucket.secretAccessKey,
    },
  };
}

/**
 * Builds Berth over a fresh data directory. Auth is off unless `overrides` turn it on, or the
 * environment says `BERTH_TEST_AUTH=bearer`: then the registry suites run with auth on, every
 * request carrying the administrator's token.
 */
export async function testApp(overrides: Record<string, unknown> = {}): Promise<TestApp> {
  const data = tempDir('inproc');
  const withTokens = process.env.BERTH_TEST_AUTH === 'bearer' && overrides.auth === undefined;
  const url = await freshPostgresUrl();
  const bucket = process.env.BERTH_TEST_STORAGE === 's3' ? await testBucket() : undefined;
  const sources = {
    env: {},
    overrides: {
      data,
      ...(url ? { database: { url, pool: 4 } } : {}),
      ...(bucket ? { storage: s3Storage(bucket) } : {}),
      log: { level: 'silent' },
      auth: { mode: withTokens ? 'token' : 'none' },
      ...overrides,
    },
  };
  const config = loadConfig(sources);
  const berth = await composeBerth(config, undefined, undefined, sources);
  if (berth.auth) await ensureAdministrator(berth.meta, TEST_ADMIN_PASSWORD);
  const app = buildHttpServer({ ...berth, options: config });
  await app.ready();
  if (withTokens) injectWithTokens(app);
  return {
    app,
    berth,
    data,
    async close() {
      await app.close();
      await berth.close();
      removeDir(data);
      if (url) await dropPostgres(url);
    },
  };
}

/**
 * Deletes manifest `reference` of repository `name` and runs a collection at once (untagged
 * manifests too, no grace period); its report.
 */
export async function deleteAndCollect(t: TestApp, name: string, reference: string) {
  await t.app.inject({ method: 'DELETE', url: `/v2/${name}/manifests/${reference}` });
  return t.berth.registry.gc.collect({ dryRun: false, deleteUntagged: true, graceMs: 0 });
}
