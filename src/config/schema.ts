/** The configuration schema: every key, its default and its meaning, in one place. */
import { z } from 'zod';

const duration = z.coerce.number().int().positive();

/** Berth's configuration, validated. */
export const configSchema = z
  .object({
    /** HOST:PORT to listen on. */
    listen: z
      .string()
      .regex(/^.+:\d+$/, 'listen must be HOST:PORT')
      .default('127.0.0.1:5000'),
    /** The data directory: database and content store. */
    data: z.string().min(1).default('./data'),
    /** Authentication mode. `none` runs an open registry (local development and tests). */
    auth: z.enum(['none']).default('none'),
    log: z
      .object({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info'),
      })
      .default({ level: 'info' }),
    uploads: z
      .object({
        /** Seconds an upload session may stay idle before it expires and its data is removed. */
        expiry: duration.default(86_400),
        /** Seconds between sweeps for expired uploads. */
        sweepInterval: duration.default(600),
      })
      .default({ expiry: 86_400, sweepInterval: 600 }),
    database: z
      .object({
        /**
         * SQLite commit durability: `full` syncs every commit (survives power loss); `normal` syncs
         * at checkpoints only (survives process crashes, may lose the last commits on power loss).
         */
        synchronous: z.enum(['full', 'normal']).default('full'),
      })
      .default({ synchronous: 'full' }),
    cache: z
      .object({
        /** Seconds a cached read (tag, manifest, blob size) may lag behind changes made by other processes. */
        ttl: z.coerce.number().nonnegative().default(2),
      })
      .default({ ttl: 2 }),
    gc: z
      .object({
        /** What to do with manifests no tag or index refers to: keep them, or collect them. */
        untagged: z.enum(['keep', 'delete']).default('keep'),
        /** Seconds something must have been unreferenced before it is collected. */
        grace: z.coerce.number().int().nonnegative().default(3_600),
      })
      .default({ untagged: 'keep', grace: 3_600 }),
  })
  .strict();

/** The effective configuration. */
export type BerthConfig = z.infer<typeof configSchema>;
