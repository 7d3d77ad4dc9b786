/**
 * Composing the platform parts: the control plane (its CA, join tokens, admission and the hub
 * agents connect to) and replication (the replicator, its outbox consumer, Berth's own API as the
 * local side).
 */
import { readFileSync } from 'node:fs';
import type { AuthService } from '../auth/index.js';
import {
  Admission,
  AgentHub,
  ControlPlane,
  JoinTokens,
  clusterCaOnFirstUse,
} from '../cluster/index.js';
import type { BerthConfig } from '../config/index.js';
import { type AuditLog, type OutboxConsumer } from '../events/index.js';
import type { SecretBox } from '../kit/index.js';
import type { Meta } from '../meta/index.js';
import type { Logger } from '../obs/index.js';
import type { Registry } from '../registry/index.js';
import { Replicator } from '../replication/index.js';
import { RetentionEngine, RetentionScheduler } from '../retention/index.js';
import type { TrustService } from '../trust/index.js';

/** The control plane: its CA, join tokens, admission and the hub agents connect to. */
export function openCluster(
  config: BerthConfig,
  meta: Meta,
  auth: AuthService,
  audit: AuditLog,
  box: SecretBox,
  trust: TrustService | undefined,
  logger: Logger,
  listeningAt: () => string | undefined,
): { plane: ControlPlane; hub: AgentHub } {
  const c = config.cluster;
  const registry = () => c.registry ?? config.builds.registry ?? listeningAt() ?? config.listen;
  const ca = clusterCaOnFirstUse(meta, box);
  const hub = new AgentHub(
    meta,
    {
      heartbeatMs: c.heartbeat * 1000,
      snapshotMs: c.snapshot * 1000,
      callTimeoutMs: c.callTimeout * 1000,
    },
    logger,
  );
  const admission = new Admission(
    meta,
    registry,
    config.domain ? [config.domain] : [],
    trust && ((repository, tag) => trust.tags.signatureOf(repository, tag)),
  );
  const plane = new ControlPlane({
    meta,
    hub,
    ca,
    joinTokens: new JoinTokens(meta, box, async () => (await ca()).fingerprint),
    admission,
    audit,
    allows: (principal, repository, action) => auth.policy.allows(principal, repository, action),
    credentials: {
      mint: (owner, repository, ttlMs, name) =>
        auth.accessTokens.mintRepositoryToken(owner, repository, ttlMs, name, 'read'),
      revoke: (id) => auth.accessTokens.revokeRepositoryToken(id),
    },
    settings: {
      get registry() {
        return registry();
      },
      downAfterMs: c.downAfter * 1000,
      joinTokenTtlMs: c.joinTokenTtl * 1000,
      certificateDays: c.certificateDays,
      credentialTtlMs: c.credentialTtl * 1000,
    },
  });
  return { plane, hub };
}

/**
 * Replication: the replicator (Berth's own API as its local side, short-lived repository tokens
 * as its credentials once accounts exist) and the outbox consumer that queues runs for pushes.
 */
export function openReplication(
  config: BerthConfig,
  meta: Meta,
  registry: Registry,
  box: SecretBox,
  logger: Logger,
  published: () => void,
) {
  let listeningAt: string | undefined;
  let auth: AuthService | undefined;
  const localCa = config.tls.cert ? readFileSync(config.tls.cert, 'utf8') : undefined;
  const replicator = new Replicator(
    meta,
    box,
    {
      base: () => listeningAt && `${localCa ? 'https' : 'http'}://${listeningAt}`,
      ca: localCa,
      credential: async (actAs, repository, level) => {
        if (!auth) return undefined;
        const tokens = auth.accessTokens;
        const minted = await tokens.mintRepositoryToken(
          actAs,
          repository,
          600_000,
          'replication',
          level,
        );
        return {
          credentials: { kind: 'basic', username: actAs, password: minted.token },
          revoke: () => tokens.revokeRepositoryToken(minted.id),
        };
      },
      deleteTag: (repository, tag) => registry.manifests.delete(repository, tag),
    },
    logger,
    published,
  );
  const consumer: OutboxConsumer = {
    name: 'replication',
    handle: replicator.handler(),
    handled: () => replicator.notify(),
  };
  return {
    replicator,
    /** Replication's consumer of the outbox (pushes and deletions). */
    consumer,
    /** Accounts, once opened: the local side then uses minted tokens. */
    useAuth: (opened: AuthService | undefined) => {
      auth = opened;
    },
    /** Where Berth listens (the local side's address). */
    listening: (address: string) => {
      listeningAt ??= address;
    },
  };
}

/**
 * Retention: the engine (registry caches and immutable tags as its ports) and the scheduler that
 * runs due policies and empties the trash every `retention.poll` seconds.
 */
export function openRetention(
  config: BerthConfig,
  meta: Meta,
  registry: Registry,
  logger: Logger,
  published: () => void,
) {
  const engine = new RetentionEngine(meta, {
    immutable: async (repository, tag) =>
      (await registry.immutableTags.ruleFor(repository, tag)) !== undefined,
    tagsChanged: (repositoryId, tags) => registry.tagsChanged(repositoryId, tags),
    events: { committed: published },
  });
  const scheduler = new RetentionScheduler(meta, engine, logger);
  scheduler.start(config.retention.poll * 1000);
  return { engine, scheduler };
}
