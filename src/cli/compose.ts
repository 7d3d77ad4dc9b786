/** The composition root: builds Berth's concrete parts from the configuration. */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AuthService, TokenKeys } from '../auth/index.js';
import type { BerthConfig, ConfigSources } from '../config/index.js';
import {
  AuditLog,
  auditConsumer,
  OutboxPump,
  pruneOutbox,
  WebhookDispatcher,
  webhookFanOut,
  WebhookSealing,
} from '../events/index.js';
import { baseImageRebuilds, BuildRunner } from '../builds/index.js';
import type { AgentHub, ControlPlane } from '../cluster/index.js';
import { openCluster, openReplication, openRetention } from './compose-platform.js';
import {
  authSettingsOf,
  buildSettingsOf,
  destinationRulesOf,
  dispatchSettingsOf,
} from './compose-settings.js';
import { openDatabase, openStore } from './compose-stores.js';
import { CacheAdmin, PullThroughCache, ReplicationAdmin } from '../replication/index.js';
import {
  BuildService,
  CatalogService,
  ImmutabilityService,
  QuotaService,
  RetentionService,
  SystemService,
  WebhookService,
  type ManageServices,
} from '../manage/index.js';
import type { Meta, OpenDatabase } from '../meta/index.js';
import { BerthMetrics, createLogger, type Logger } from '../obs/index.js';
import { Registry } from '../registry/index.js';
import { loadMasterKey, packageRoot, SecretBox } from '../kit/index.js';
import { KeyVault, TrustService } from '../trust/index.js';

/** Berth's parts, ready to serve or to run maintenance. */
export interface Berth {
  config: BerthConfig;
  meta: Meta;
  registry: Registry;
  metrics: BerthMetrics;
  logger: Logger;
  /** Access control, unless `auth.mode` is `none`. */
  auth?: AuthService;
  audit: AuditLog;
  /** The trust service, unless `trust.enabled` is false. */
  trust?: TrustService;
  /** The services the management API and the CLI call with an actor. */
  manage: ManageServices;
  /** Upstreams and pull-through cache namespaces (with accounts). */
  cacheAdmin?: CacheAdmin;
  /** Replication rules and executions (with accounts). */
  replicationAdmin?: ReplicationAdmin;
  /** The control plane and its agents' hub (with accounts, unless `cluster.enabled` is false). */
  cluster?: { plane: ControlPlane; hub: AgentHub };
  /** Tells the build runner the HOST:PORT the server listens on (unless `builds.registry` says). */
  listening(address: string): void;
  version: string;
  close(): Promise<void>;
}

/** Berth's version, from its package.json (two folders above the compiled file). */
export function berthVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * The master key that seals secrets at rest (trust keys, token signing keys): `trust.masterKey`,
 * else `<data>/trust/master.key`, made once.
 */
export function masterKeyOf(config: BerthConfig): Buffer {
  return loadMasterKey(path.join(config.data, 'trust', 'master.key'), config.trust.masterKey);
}

/** Builds the auth service from the configuration. */
export function openAuth(
  config: BerthConfig,
  meta: Meta,
  audit: AuditLog,
  masterKey = masterKeyOf(config),
): Promise<AuthService> {
  const box = new SecretBox(masterKey);
  return AuthService.open(meta, audit, authSettingsOf(config, box), box);
}

/** The token signing keys in `meta`, sealed with `config`'s master key (for the key commands). */
export function openTokenKeys(config: BerthConfig, meta: Meta): Promise<TokenKeys> {
  return TokenKeys.open(meta, new SecretBox(masterKeyOf(config)));
}

/** Builds the trust service, its key vault opened with the configured or stored master key. */
export function openTrust(
  config: BerthConfig,
  meta: Meta,
  masterKey = masterKeyOf(config),
): TrustService {
  return new TrustService(
    meta,
    new KeyVault(masterKey),
    config.cache.ttl * 1000,
    Date.now,
    config.domain,
  );
}

/** Opens the database and storage under the configured data directory and builds the registry. */
export async function composeBerth(
  config: BerthConfig,
  logger = createLogger(config.log.level),
  opened?: OpenDatabase & { meta: Meta },
  /** How the configuration was made, for the settings page (only `berth serve` knows). */
  sources?: ConfigSources,
): Promise<Berth> {
  const database = opened ?? (await openDatabase(config, logger));
  const { meta } = database;
  const metrics = new BerthMetrics();
  const store = await openStore(config, meta, (operation) =>
    metrics.storageRequests.inc({ operation }),
  );
  const version = berthVersion();
  // The master key seals secrets at rest: token signing keys, trust keys, webhook secrets.
  const masterKey = masterKeyOf(config);
  const box = new SecretBox(masterKey);
  const sealing = new WebhookSealing(box, masterKey);
  const dispatcher = new WebhookDispatcher(
    meta,
    sealing,
    dispatchSettingsOf(config, version),
    logger,
    (outcome) => metrics.webhookDeliveries.inc({ outcome }),
  );
  metrics.watchWebhookQueue(() => meta.webhooks.queue());
  // The audit log, the webhooks, replication and rebuilds read changes from the outbox, woken
  // after each of this process's.
  const outbox = new OutboxPump(meta, logger);
  outbox.add(auditConsumer(logger));
  outbox.add({
    name: 'webhooks',
    handle: webhookFanOut(sealing),
    handled: () => dispatcher.notify(),
  });
  const trust = config.trust.enabled ? openTrust(config, meta, masterKey) : undefined;
  const registry = new Registry({
    meta,
    store,
    pullGate:
      trust &&
      ((name, tag, digest) =>
        trust.tags.requiresNothingOf(name) ? undefined : trust.tags.pullVerdict(name, tag, digest)),
    events: {
      committed: () => outbox.notify(),
    },
    bytes: { received: (n) => metrics.bytesReceived.inc(n), sent: (n) => metrics.bytesSent.inc(n) },
    cacheTtlMs: config.cache.ttl * 1000,
    uploadLimits: {
      sessions: config.limits.uploadsPerAccount,
      bytes: config.limits.uploadBytesPerAccount,
    },
    gcFinished: (report, failed) => {
      metrics.gcRuns.inc({ outcome: failed ? 'failed' : 'done' });
      void audit.record({
        actor: null,
        action: 'gc.finish',
        outcome: failed ? 'failure' : 'success',
        detail: report && {
          dryRun: report.dryRun,
          manifests: report.manifests.length,
          blobs: report.blobs.length,
          bytesFreed: report.bytesFreed,
        },
      });
      if (!report || report.dryRun) return;
      metrics.gcRemoved.inc({ kind: 'manifest' }, report.manifests.length);
      metrics.gcRemoved.inc({ kind: 'link' }, report.links.length);
      metrics.gcRemoved.inc({ kind: 'blob' }, report.blobs.length);
      metrics.gcBytesFreed.inc(report.bytesFreed);
    },
  });
  trust?.attachBlobs((repository, digest, maxBytes) =>
    registry.blobs.readSmall(repository, digest, maxBytes),
  );
  await registry.recover();
  // The pull-through cache stores into the registry, so it is attached once the registry exists.
  const pullThrough = new PullThroughCache(
    meta,
    registry,
    box,
    {
      outcome: (outcome) => metrics.cacheResults.inc({ outcome }),
      upstreamFetch: (kind) => metrics.cacheUpstreamFetches.inc({ kind }),
    },
    logger,
  );
  registry.attachPullThrough(pullThrough);
  // Replication reads pushes and deletions from the outbox and copies through Berth's own API.
  const replication = openReplication(config, meta, registry, box, logger, () => outbox.notify());
  const { replicator } = replication;
  outbox.start();
  dispatcher.start(config.webhooks.pollMs);
  const stopPruning = pruneOutbox(meta, config.webhooks.eventKeepDays * 86_400_000, logger);
  const audit = new AuditLog(meta, logger, () => outbox.notify());
  const auth =
    config.auth.mode === 'token' ? await openAuth(config, meta, audit, masterKey) : undefined;
  replication.useAuth(auth);
  outbox.add(replication.consumer);
  replicator.start();
  const retention = openRetention(config, meta, registry, logger, () => outbox.notify());
  let registryAddress = config.builds.registry;
  const buildDir = path.join(config.data, 'builds');
  mkdirSync(buildDir, { recursive: true, mode: 0o700 });
  const buildService =
    auth && new BuildService(meta, auth, box, path.join(buildDir, 'known_hosts'));
  const buildRunner =
    auth &&
    buildService &&
    new BuildRunner(
      meta,
      {
        mint: (owner, repository, ttlMs, name) =>
          auth.accessTokens.mintRepositoryToken(owner, repository, ttlMs, name),
        revoke: (id) => auth.accessTokens.revokeRepositoryToken(id),
      },
      (c) => buildService.gitSource(c),
      buildSettingsOf(config, () => registryAddress),
      logger,
      () => outbox.notify(),
    );
  if (buildService && buildRunner) buildService.attach(buildRunner);
  buildRunner?.start();
  // Pushes to base images queue rebuilds, read from the outbox like every other consumer.
  if (buildRunner)
    outbox.add({
      name: 'builds',
      handle: baseImageRebuilds(),
      handled: () => buildRunner.notify(),
    });
  const cluster =
    auth && config.cluster.enabled
      ? openCluster(config, meta, auth, audit, box, trust, logger, () => registryAddress)
      : undefined;
  return {
    config,
    meta,
    registry,
    metrics,
    logger,
    auth,
    audit,
    trust,
    manage: {
      catalog: new CatalogService(meta, registry, auth, trust),
      system: new SystemService(
        meta,
        registry,
        version,
        sources && { sources, running: config },
        audit,
      ),
      webhooks:
        auth && new WebhookService(meta, auth, sealing, destinationRulesOf(config), dispatcher),
      builds: buildService,
      immutability:
        auth && new ImmutabilityService(meta, audit, () => registry.immutableTags.invalidate()),
      quotas: auth && new QuotaService(meta, auth, audit, () => registry.quotas.invalidate()),
      retention: auth && new RetentionService(meta, auth, retention.engine, audit),
    },
    cluster,
    cacheAdmin: auth && new CacheAdmin(meta, box, audit, () => pullThrough.invalidate()),
    replicationAdmin: auth && new ReplicationAdmin(meta, audit, () => replicator.notify()),
    listening: (address) => {
      registryAddress ??= address;
      replication.listening(address);
    },
    version,
    close: async () => {
      stopPruning();
      cluster?.hub.closeAll();
      await replicator.stop();
      await retention.scheduler.stop();
      await buildRunner?.stop();
      await registry.pulls.flush();
      await audit.drain();
      await outbox.drain(true);
      await dispatcher.stop();
      await database.close();
    },
  };
}
