/** An in-process Berth (Fastify `inject()`), with its own data directory, for fast HTTP tests. */
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import { composeBerth, type Berth } from '../../src/cli/index.js';
import { buildHttpServer } from '../../src/http/index.js';
import { removeDir, tempDir } from './server.js';

/** An app to inject requests into, and a way to dispose of it. */
export interface TestApp {
  app: FastifyInstance;
  berth: Berth;
  data: string;
  close(): Promise<void>;
}

/** Builds Berth over a fresh data directory. */
export async function testApp(overrides: Record<string, unknown> = {}): Promise<TestApp> {
  const data = tempDir('inproc');
  const config = loadConfig({
    env: {},
    overrides: { data, log: { level: 'silent' }, ...overrides },
  });
  const berth = await composeBerth(config);
  const app = buildHttpServer(berth);
  await app.ready();
  return {
    app,
    berth,
    data,
    async close() {
      await app.close();
      await berth.close();
      removeDir(data);
    },
  };
}
