/** The composition root: builds Berth's concrete parts from the configuration. */
import path from 'node:path';
import type { BerthConfig } from '../config/index.js';
import { Meta, openSqliteDatabase } from '../meta/index.js';
import { BerthMetrics, createLogger, type Logger } from '../obs/index.js';
import { NO_EVENTS, Registry } from '../registry/index.js';
import { FsContentStore } from '../storage/index.js';

/** Berth's parts, ready to serve or to run maintenance. */
export interface Berth {
  config: BerthConfig;
  meta: Meta;
  registry: Registry;
  metrics: BerthMetrics;
  logger: Logger;
  close(): Promise<void>;
}

/** The database file inside the data directory. */
export function databaseFile(config: BerthConfig): string {
  return path.join(config.data, 'berth.db');
}

/** Opens the database and storage under the configured data directory and builds the registry. */
export async function composeBerth(
  config: BerthConfig,
  logger = createLogger(config.log.level),
): Promise<Berth> {
  const database = await openSqliteDatabase(databaseFile(config), config.database.synchronous);
  const meta = new Meta(database.db);
  const store = new FsContentStore(path.join(config.data, 'storage'));
  const metrics = new BerthMetrics();
  const registry = new Registry({
    meta,
    store,
    events: NO_EVENTS,
    bytes: { received: (n) => metrics.bytesReceived.inc(n), sent: (n) => metrics.bytesSent.inc(n) },
    cacheTtlMs: config.cache.ttl * 1000,
  });
  await registry.recover();
  return { config, meta, registry, metrics, logger, close: () => database.close() };
}
