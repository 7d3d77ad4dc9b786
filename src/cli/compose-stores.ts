/** Opening the configured database and content store. */
import path from 'node:path';
import type { BerthConfig } from '../config/index.js';
import {
  Meta,
  openPostgresDatabase,
  openSqliteDatabase,
  type OpenDatabase,
} from '../meta/index.js';
import { createLogger, type Logger } from '../obs/index.js';
import {
  FsContentStore,
  InlineSmallBlobs,
  openS3Store,
  type ContentStore,
} from '../storage/index.js';
import { secureDataDirectories } from './data-permissions.js';

/** The database file inside the data directory. */
export function databaseFile(config: BerthConfig): string {
  return path.join(config.data, 'berth.db');
}

/**
 * Opens the configured database: PostgreSQL when `database.url` is set, else the embedded SQLite.
 * `logger` hears of idle connections the server closed (by default the configured level's logger,
 * made when first needed; CLI commands pass theirs, which writes to stderr).
 */
export async function openDatabase(
  config: BerthConfig,
  logger?: Logger,
): Promise<OpenDatabase & { meta: Meta }> {
  const dirs = [config.data];
  if (config.storage.backend === 'filesystem' && config.storage.path)
    dirs.push(config.storage.path);
  secureDataDirectories(dirs);
  const database = config.database.url
    ? await openPostgresDatabase(
        config.database.url,
        config.database.pool,
        (err) =>
          (logger ?? createLogger(config.log.level)).warn(
            { err },
            'the database closed an idle connection',
          ),
        config.database.preparedStatements,
      )
    : await openSqliteDatabase(
        databaseFile(config),
        config.database.synchronous,
        config.database.cacheBytes,
      );
  return { ...database, meta: new Meta(database.db, database.dialect) };
}

/**
 * The configured content store: the filesystem or an S3-compatible bucket, with small blobs in
 * `meta`'s database as far as `storage.inlineBytes` (for S3: `storage.s3.inlineBytes` if set)
 * allows.
 */
export async function openStore(
  config: BerthConfig,
  meta: Meta,
  /** Told of each request an object store sends, by operation. */
  onRequest?: (operation: string) => void,
): Promise<ContentStore> {
  const { storage } = config;
  if (storage.backend === 's3') {
    const bucket = await openS3Store({
      bucket: storage.s3.bucket!,
      prefix: storage.s3.prefix,
      region: storage.s3.region,
      endpoint: storage.s3.endpoint,
      forcePathStyle: storage.s3.forcePathStyle,
      accessKeyId: storage.s3.accessKeyId,
      secretAccessKey: storage.s3.secretAccessKey,
      redirectSeconds: storage.s3.redirect,
      onRequest,
      spoolDirectory: path.join(config.data, 'spool'),
    });
    return inlined(bucket, meta, storage.s3.inlineBytes ?? storage.inlineBytes);
  }
  const directory = new FsContentStore(storage.path ?? path.join(config.data, 'storage'), {
    directWrites: storage.directWrites,
  });
  return inlined(directory, meta, storage.inlineBytes);
}

/** `store` with blobs of at most `maxBytes` kept in `meta`'s database (0: none). */
function inlined(store: ContentStore, meta: Meta, maxBytes: number): ContentStore {
  return maxBytes > 0 ? new InlineSmallBlobs(store, meta.inlineBlobs, maxBytes) : store;
}
