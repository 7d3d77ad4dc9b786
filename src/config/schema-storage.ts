/** The configuration's `database` and `storage` sections: where metadata and blobs live. */
import { z } from 'zod';

/**
 * The embedded database's page cache by default: 4 MiB. better-sqlite3 builds SQLite with 16 MiB,
 * which a busy registry fills with the pages its writes touched (audit entries, uploads) and keeps;
 * 4 MiB holds what the hot reads and a search over 50,000 repositories need (2 MiB did not: the
 * search went from 23 to 66 ms).
 */
export const DEFAULT_SQLITE_CACHE_BYTES = 4 << 20;

/** `database`: the embedded SQLite file's settings, or a PostgreSQL server shared by replicas. */
export const databaseSection = z
  .object({
    /**
     * SQLite commit durability: `full` syncs every commit (survives power loss); `normal` syncs
     * at checkpoints only (survives process crashes, may lose the last commits on power loss).
     */
    synchronous: z.enum(['full', 'normal']).default('full'),
    /** SQLite's page cache, in bytes (the pages beyond it are read again from the OS's cache). */
    cacheBytes: z.coerce
      .number()
      .int()
      .min(65_536)
      .max(1 << 30)
      .default(DEFAULT_SQLITE_CACHE_BYTES),
    /**
     * A PostgreSQL URL (`postgres://user:password@host:5432/berth`): metadata lives there
     * instead of the embedded SQLite file, shared by every replica.
     */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'database.url must be a postgres:// URL')
      .optional(),
    /** Connections in the PostgreSQL pool of each process. */
    pool: z.coerce.number().int().min(1).max(200).default(10),
    /**
     * PostgreSQL: send statements as named prepared statements (parsed once per connection);
     * false behind a pooler that moves a session's statements between server connections
     * (PgBouncer in transaction mode before 1.21).
     */
    preparedStatements: z.stringbool().or(z.boolean()).default(true),
  })
  .default({
    synchronous: 'full',
    cacheBytes: DEFAULT_SQLITE_CACHE_BYTES,
    pool: 10,
    preparedStatements: true,
  });

/** `storage`: the filesystem or an S3-compatible bucket, and which small blobs the database keeps. */
export const storageSection = z
  .object({
    /** Where blobs live: `filesystem` (under `storage.path`) or `s3` (`storage.s3`). */
    backend: z.enum(['filesystem', 's3']).default('filesystem'),
    /** The blob directory; default `<data>/storage`. */
    path: z.string().min(1).optional(),
    /**
     * Blobs of at most this many bytes (uploaded whole with their length announced, or
     * PATCHed and completed by an empty PUT) are kept in the database, written in the
     * transaction that records them, instead of a file or an object each (0: never).
     */
    inlineBytes: z.coerce.number().int().min(0).max(1_048_576).default(65_536),
    /**
     * Filesystem storage: upload bytes are written around the page cache (`O_DIRECT`, in
     * aligned 1 MiB blocks) where the filesystem allows it; false writes them through it.
     */
    directWrites: z.stringbool().or(z.boolean()).default(true),
    /**
     * Filesystem storage: blob bytes the page cache holds are sent to plain (not TLS)
     * connections with sendfile(2), never copied through Berth's memory; false copies them.
     */
    sendfile: z.stringbool().or(z.boolean()).default(true),
    s3: z
      .object({
        bucket: z.string().min(1).optional(),
        /** Key prefix inside the bucket. */
        prefix: z.string().default(''),
        region: z.string().min(1).default('us-east-1'),
        /** A custom endpoint (Ceph RADOS Gateway, MinIO); AWS when unset. */
        endpoint: z.url().optional(),
        forcePathStyle: z.stringbool().or(z.boolean()).default(true),
        /** Static credentials; otherwise the standard AWS chain (AWS_* variables, profile, role). */
        accessKeyId: z.string().min(1).optional(),
        secretAccessKey: z.string().min(1).optional(),
        /** Seconds presigned blob URLs live when blob GETs redirect to the store (0: never redirect). */
        redirect: z.coerce.number().int().min(0).max(604_800).default(0),
        /** For S3 storage only, instead of `storage.inlineBytes` (kept for configurations that set it here). */
        inlineBytes: z.coerce.number().int().min(0).max(1_048_576).optional(),
      })
      .strict()
      .default({
        prefix: '',
        region: 'us-east-1',
        forcePathStyle: true,
        redirect: 0,
      }),
  })
  .strict()
  .refine((s) => s.backend !== 's3' || s.s3.bucket !== undefined, {
    message: 'storage.backend s3 needs storage.s3.bucket',
  })
  .default({
    backend: 'filesystem',
    s3: {
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: true,
      redirect: 0,
    },
    inlineBytes: 65_536,
    directWrites: true,
    sendfile: true,
  });
