/**
 * What the control plane's services share: their parts and settings, types, the audit of every
 * action (refusals included), the administrator check, node lookups and a node's status.
 */
import type { Actor, AuditSink, Principal, RepositoryAction } from '../auth/index.js';
import type { Meta, NodeRecord } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { ControlAccess } from './access.js';
import type { Admission } from './admission.js';
import type { ClusterCaSource } from './cluster-ca.js';
import type { AgentHub } from './hub.js';
import type { JoinTokens } from './join-tokens.js';
import type { ContainerSummary, EngineInfo } from './protocol.js';

/** The control plane's settings. */
export interface ClusterSettings {
  /** `host:port` nodes pull Berth images from. */
  registry: string;
  /** Milliseconds without a heartbeat after which a node is down. */
  downAfterMs: number;
  joinTokenTtlMs: number;
  certificateDays: number;
  /** Milliseconds the pull credential handed to an engine is good for. */
  credentialTtlMs: number;
}

/** The parts the service is built from. */
export interface ControlPlaneParts {
  meta: Meta;
  hub: AgentHub;
  /** The cluster CA, opened on first use. */
  ca: ClusterCaSource;
  joinTokens: JoinTokens;
  admission: Admission;
  audit: AuditSink;
  allows(principal: Principal, repository: string, action: RepositoryAction): Promise<boolean>;
  credentials: {
    mint(
      owner: string,
      repository: string,
      ttlMs: number,
      name: string,
    ): Promise<{ id: number; token: string }>;
    revoke(id: number): Promise<void>;
  };
  settings: ClusterSettings;
}

/** A node's status. */
export type NodeStatus = 'ready' | 'down' | 'unreachable' | 'revoked';

/** A node as the API shows it. */
export interface NodeView {
  id: string;
  name: string;
  status: NodeStatus;
  availability: 'active' | 'drain';
  labels: Record<string, string>;
  engine: Partial<EngineInfo>;
  engineError: string | null;
  memFree: number | null;
  connected: boolean;
  joinedAt: string;
  lastSeen: string;
  collections: string[];
}

/** A container across the cluster, with what Berth knows of its image. */
export interface ContainerView extends ContainerSummary {
  node: string;
  nodeId: string;
  berth: { repository: string; tag: string | null; digest: string; signed: boolean } | null;
}

/** What to run. */
export interface RunRequest {
  image: string;
  /** A node's name; else the controller picks among ready nodes matching `constraints`. */
  node?: string;
  constraints?: Record<string, string>;
  name?: string;
  command?: string[];
  env?: string[];
  labels?: Record<string, string>;
  network?: string;
}

/** What to deploy as a Swarm service. */
export interface ServiceRequest {
  image: string;
  name: string;
  replicas: number;
  command?: string[];
  labels?: Record<string, string>;
}

export const LABEL_PREFIX = 'io.berth.';

/** The base of the control plane's services. */
export abstract class PlaneBase {
  constructor(protected readonly parts: ControlPlaneParts) {}

  protected get meta(): Meta {
    return this.parts.meta;
  }

  protected async audited<T>(
    actor: Actor | null,
    action: string,
    target: string,
    detail: Record<string, unknown>,
    work: () => Promise<T>,
  ): Promise<T> {
    const base = {
      actor: actor?.principal.name ?? null,
      action,
      target,
      address: actor?.address ?? null,
    };
    try {
      const result = await work();
      await this.parts.audit.record({ ...base, outcome: 'success', detail });
      return result;
    } catch (err) {
      const denied =
        err instanceof BerthError && (err.code === 'DENIED' || err.code === 'UNAUTHORIZED');
      await this.parts.audit.record({
        ...base,
        outcome: denied ? 'denied' : 'failure',
        detail: { ...detail, reason: (err as Error).message },
      });
      throw err;
    }
  }

  protected requireAdmin(access: ControlAccess, what: string): void {
    if (!access.isAdmin) throw new BerthError('DENIED', `only administrators may ${what}`);
  }

  /** A node's status now. */
  statusOf(node: NodeRecord, now = Date.now()): NodeStatus {
    if (node.revokedAt !== null) return 'revoked';
    if (now - node.lastSeen > this.parts.settings.downAfterMs) return 'down';
    return node.engineOk ? 'ready' : 'unreachable';
  }

  protected async nodeNamed(name: string): Promise<NodeRecord> {
    const node = (await this.meta.cluster.nodeByName(name)) ?? (await this.meta.cluster.node(name));
    if (!node) throw new BerthError('NOT_FOUND', `no node ${name}`);
    return node;
  }
}
