/** The configuration schema: every key, its default and its meaning, in one place. */
import { isAddressOrCidr } from '../kit/index.js';
import { z } from 'zod';
import { directoryProviderSchema } from './identity.js';
import { databaseSection, storageSection } from './schema-storage.js';

const duration = z.coerce.number().int().positive();

/** A list given as one comma-separated string (an environment variable) or as a list. */
const commaList = (v: unknown): unknown =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : v;

/** Berth's configuration, validated. */
export const configSchema = z
  .object({
    /** HOST:PORT to listen on. */
    listen: z
      .string()
      .regex(/^.+:\d+$/, 'listen must be HOST:PORT')
      .default('127.0.0.1:5000'),
    /**
     * The registry's public name (`registry.example.com` or `host:port`) shown in pull commands;
     * by default the Host clients use.
     */
    domain: z
      .string()
      .regex(/^[a-zA-Z0-9.-]+(?::\d{1,5})?$/, 'domain must be a host name, optionally with :port')
      .optional(),
    /**
     * Proxies (CIDRs or addresses, e.g. `10.0.0.0/8`) whose `X-Forwarded-For` names the client:
     * only requests from these addresses are taken at their word; others are the socket's peer.
     */
    trustedProxies: z
      .preprocess(
        commaList,
        z.array(
          z.string().refine(isAddressOrCidr, 'each entry is an IP address or a CIDR (10.0.0.0/8)'),
        ),
      )
      .default([]),
    /** Bounds on what one caller can hold open. */
    limits: z
      .object({
        /** Open upload sessions per account (per client address for anonymous callers). */
        uploadsPerAccount: z.coerce.number().int().positive().default(200),
        /** Bytes that unfinished uploads of one account may hold. */
        uploadBytesPerAccount: z.coerce
          .number()
          .int()
          .positive()
          .default(20 * 1024 ** 3),
        /** Seconds a client has to send a request's headers. */
        headersTimeout: duration.default(20),
        /** Seconds a connection may stay silent (no bytes either way) before it is closed. */
        idleTimeout: duration.default(60),
        /**
         * Seconds a request body other than a blob upload (API, token, manifest, trust publish)
         * has to arrive whole.
         */
        bodyTimeout: duration.default(30),
        /** Open connections per client address (trusted proxies are not counted). */
        connectionsPerAddress: z.coerce.number().int().positive().default(2048),
        /**
         * Descriptors of the listening socket the event loop watches: each accepts one new
         * connection per turn of the loop (0: the listener alone).
         */
        acceptors: z.coerce.number().int().min(0).max(256).default(64),
        /** Bytes of one trust publish request, and of one metadata file in it. */
        trustPublishBytes: z.coerce
          .number()
          .int()
          .positive()
          .default(32 * 1024 ** 2),
        trustFileBytes: z.coerce
          .number()
          .int()
          .positive()
          .default(8 * 1024 ** 2),
      })
      .strict()
      .default({
        uploadsPerAccount: 200,
        uploadBytesPerAccount: 20 * 1024 ** 3,
        headersTimeout: 20,
        idleTimeout: 60,
        bodyTimeout: 30,
        connectionsPerAddress: 2048,
        acceptors: 64,
        trustPublishBytes: 32 * 1024 ** 2,
        trustFileBytes: 8 * 1024 ** 2,
      }),
    metrics: z
      .object({
        /** Serve `/metrics` on this HOST:PORT only (not on the main listener). */
        listen: z
          .string()
          .regex(/^.+:\d+$/, 'metrics.listen must be HOST:PORT')
          .optional(),
        /**
         * `none`: anyone who reaches `/metrics` reads it. `admin`: an administrator's credentials
         * (Basic password or access token of any level) are required.
         */
        auth: z.enum(['none', 'admin']).default('none'),
      })
      .strict()
      .default({ auth: 'none' }),
    /** The data directory: database and content store. */
    data: z.string().min(1).default('./data'),
    auth: z
      .object({
        /**
         * `token`: accounts, Docker token authentication and access control. `none`: an open
         * registry where anyone may do anything (local development only).
         */
        mode: z.enum(['token', 'none']).default('token'),
        /** The `service` name in challenges and the audience of tokens. */
        service: z.string().min(1).default('berth'),
        /** The issuer of tokens. */
        issuer: z.string().min(1).default('berth'),
        /** The token endpoint URL in challenges; by default derived from each request's Host. */
        realm: z.url().optional(),
        /** Seconds a registry token is valid. */
        tokenTtl: duration.max(3_600).default(300),
        /** Seconds a refresh token (`docker login`'s identity token) is valid. */
        refreshTtl: duration.default(7_776_000),
        /** Whether callers without credentials may pull public repositories. */
        anonymousPull: z.stringbool().or(z.boolean()).default(true),
        /** Failed logins per account or per client address before logins are refused for a while. */
        maxFailures: duration.default(10),
        /** Seconds over which failed logins are counted, and how long a refusal lasts. */
        failureWindow: duration.default(300),
      })
      .strict()
      .default({
        mode: 'token',
        service: 'berth',
        issuer: 'berth',
        tokenTtl: 300,
        refreshTtl: 7_776_000,
        anonymousPull: true,
        maxFailures: 10,
        failureWindow: 300,
      }),
    repositories: z
      .object({
        /** The visibility of repositories created by a push or without one being chosen. */
        defaultVisibility: z.enum(['private', 'public']).default('private'),
      })
      .strict()
      .default({ defaultVisibility: 'private' }),
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
    database: databaseSection,
    cache: z
      .object({
        /** Seconds a cached read (tag, manifest, blob size) may lag behind changes made by other processes. */
        ttl: z.coerce.number().nonnegative().default(2),
      })
      .default({ ttl: 2 }),
    storage: storageSection,
    tls: z
      .object({
        /** PEM certificate chain file: with `key`, `berth serve` speaks HTTPS on every route. */
        cert: z.string().min(1).optional(),
        /** PEM private key file of `cert`. */
        key: z.string().min(1).optional(),
      })
      .strict()
      .refine((t) => (t.cert === undefined) === (t.key === undefined), {
        message: 'tls.cert and tls.key go together',
      })
      .default({}),
    trust: z
      .object({
        /** Serve the Notary v1 trust API under `/v2/<gun>/_trust/` and enforce signed-tag policies. */
        enabled: z.stringbool().or(z.boolean()).default(true),
        /**
         * The key (32 bytes, base64) that encrypts the trust service's signing keys at rest;
         * replicas share it. Default: a key made once in `<data>/trust/master.key`.
         */
        masterKey: z.string().min(1).optional(),
      })
      .strict()
      .default({ enabled: true }),
    webhooks: z
      .object({
        /** Deliver to loopback and private addresses too (refused by default). */
        allowPrivateNetworks: z.stringbool().or(z.boolean()).default(false),
        /** Addresses, CIDRs and host names webhooks may reach even though they are private. */
        allow: z.preprocess(commaList, z.array(z.string().min(1))).default([]),
        /** Seconds one delivery attempt may take. */
        timeout: duration.default(10),
        /** Webhooks one process sends to at once (each webhook gets one delivery at a time). */
        concurrency: z.coerce.number().int().positive().default(8),
        /** Attempts before a delivery is dead-lettered. */
        maxAttempts: z.coerce.number().int().positive().default(50),
        /** Milliseconds before the first retry; the delay doubles from there. */
        retryBaseMs: z.coerce.number().int().positive().default(5_000),
        /** The longest delay between two attempts, ms. */
        retryCapMs: z.coerce.number().int().positive().default(3_600_000),
        /** Seconds after its event a delivery is still retried (24 h). */
        retryWindow: duration.default(86_400),
        /** Consecutive failures that open an endpoint's circuit, and seconds it stays open. */
        circuitThreshold: z.coerce.number().int().positive().default(5),
        circuitOpen: duration.default(60),
        /** Days finished deliveries stay in the delivery log. */
        keepDays: z.coerce.number().int().positive().default(30),
        /** Days handled events stay in the outbox (the audit log keeps its own copy). */
        eventKeepDays: z.coerce.number().int().positive().default(7),
        /** Milliseconds between looks at the queue for retries and other replicas' events. */
        pollMs: z.coerce.number().int().positive().default(1_000),
      })
      .strict()
      .default({
        allowPrivateNetworks: false,
        allow: [],
        timeout: 10,
        concurrency: 8,
        maxAttempts: 50,
        retryBaseMs: 5_000,
        retryCapMs: 3_600_000,
        retryWindow: 86_400,
        circuitThreshold: 5,
        circuitOpen: 60,
        keepDays: 30,
        eventKeepDays: 7,
        pollMs: 1_000,
      }),
    identity: z
      .object({
        /** Directories users may also log in through, tried in this order (config file only). */
        providers: z
          .array(directoryProviderSchema)
          .default([])
          .refine((ps) => new Set(ps.map((p) => p.name)).size === ps.length, {
            message: 'identity provider names are unique',
          }),
        /** Minutes between syncs of directory accounts (0: only on demand). */
        syncMinutes: z.coerce.number().int().min(0).default(60),
      })
      .strict()
      .default({ providers: [], syncMinutes: 60 }),
    cluster: z
      .object({
        /** The control plane over Docker engines (with accounts: `auth.mode` token). */
        enabled: z.coerce.boolean().default(true),
        /** HOST:PORT the nodes' engines pull Berth images from (default: where Berth listens). */
        registry: z.string().min(1).optional(),
        /** Seconds between an agent's heartbeats, and without one before a node is down. */
        heartbeat: duration.default(5),
        downAfter: duration.default(20),
        /** Seconds between full inventory snapshots (engine events send one sooner). */
        snapshot: duration.default(30),
        /** Seconds a join token is good for. */
        joinTokenTtl: duration.default(86_400),
        /** Days a node certificate is good for. */
        certificateDays: z.coerce.number().int().positive().default(90),
        /** Seconds the pull credential handed to an engine is good for. */
        credentialTtl: duration.default(600),
        /** Seconds a call to an agent may take (a pull included). */
        callTimeout: duration.default(300),
      })
      .strict()
      .default({
        enabled: true,
        heartbeat: 5,
        downAfter: 20,
        snapshot: 30,
        joinTokenTtl: 86_400,
        certificateDays: 90,
        credentialTtl: 600,
        callTimeout: 300,
      }),
    builds: z
      .object({
        /** The Docker engine builds run on: `unix:///path/docker.sock` or `tcp://host:port`. */
        dockerHost: z
          .string()
          .regex(/^(unix|tcp):\/\/.+/, 'builds.dockerHost is unix://PATH or tcp://HOST:PORT')
          .default('unix:///var/run/docker.sock'),
        /** TLS files for a `tcp://` engine. */
        tlsCa: z.string().min(1).optional(),
        tlsCert: z.string().min(1).optional(),
        tlsKey: z.string().min(1).optional(),
        /** HOST:PORT the engine pushes to (default: where Berth listens). */
        registry: z.string().min(1).optional(),
        /** Builds running at once across all replicas, and per namespace. */
        concurrency: z.coerce.number().int().positive().default(2),
        perNamespace: z.coerce.number().int().positive().default(1),
        /** Seconds a build may take. */
        timeout: duration.default(3_600),
        /** Seconds a build's lease lasts without renewal (renewed every third of it). */
        leaseSeconds: duration.default(30),
        /** Failed builds in a row that switch a repository's triggers off. */
        maxFailures: z.coerce.number().int().positive().default(5),
        /** Milliseconds between looks at the queue. */
        pollMs: z.coerce.number().int().positive().default(1_000),
      })
      .strict()
      .default({
        dockerHost: 'unix:///var/run/docker.sock',
        concurrency: 2,
        perNamespace: 1,
        timeout: 3_600,
        leaseSeconds: 30,
        maxFailures: 5,
        pollMs: 1_000,
      }),
    gc: z
      .object({
        /** What to do with manifests no tag or index refers to: keep them, or collect them. */
        untagged: z.enum(['keep', 'delete']).default('keep'),
        /** Seconds something must have been unreferenced before it is collected. */
        grace: z.coerce.number().int().nonnegative().default(3_600),
        /** Seconds between collections run by `berth serve` itself (0: only on demand). */
        interval: z.coerce.number().int().nonnegative().default(0),
      })
      .default({ untagged: 'keep', grace: 3_600, interval: 0 }),
    retention: z
      .object({
        /** Seconds between looks for scheduled retention runs and an expired trash. */
        poll: duration.default(60),
      })
      .strict()
      .default({ poll: 60 }),
  })
  .strict();

/** The effective configuration. */
export type BerthConfig = z.infer<typeof configSchema>;
