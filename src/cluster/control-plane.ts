/**
 * The control plane's service: nodes (join, status, labels, drain, removal, revocation), one
 * inventory across them, containers run from Berth images under admission and managed, Swarm
 * services deployed and scaled, collections, grants and admission policies. Every method takes
 * the actor; every action is checked against the actor's grants and audited (with the events
 * backbone), refusals included.
 */
import { randomBytes } from 'node:crypto';
import type { Actor, AuditSink, Principal, RepositoryAction } from '../auth/index.js';
import type { Meta, NodeRecord } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { atLeast, ControlAccess, type ControlLevel } from './access.js';
import type { Admission, AdmissionDecision } from './admission.js';
import type { ClusterCa } from './cluster-ca.js';
import type { AgentHub, AgentStream } from './hub.js';
import type { JoinTokens } from './join-tokens.js';
import { proofHolds } from './node-auth.js';
import type { ContainerSummary, EngineInfo, RegistryAuth, Snapshot } from './protocol.js';

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
  ca: ClusterCa;
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

const LABEL_PREFIX = 'io.berth.';

/** The control plane. */
export class ControlPlane {
  constructor(private readonly parts: ControlPlaneParts) {}

  private get meta(): Meta {
    return this.parts.meta;
  }

  // ---- audit ----------------------------------------------------------------------------

  private async audited<T>(
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

  private requireAdmin(access: ControlAccess, what: string): void {
    if (!access.isAdmin) throw new BerthError('DENIED', `only administrators may ${what}`);
  }

  // ---- nodes ----------------------------------------------------------------------------

  /** The live join token (made when none), or a new one with `rotate` (administrators). */
  async joinToken(
    actor: Actor,
    rotate: boolean,
  ): Promise<{ token: string; expiresAt: string; caFingerprint: string }> {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'see or rotate the join token');
    const by = actor.principal.name;
    const ttl = this.parts.settings.joinTokenTtlMs;
    const made = rotate
      ? await this.audited(actor, 'cluster.join-token.rotate', 'cluster', {}, () =>
          this.parts.joinTokens.rotate(ttl, by),
        )
      : await this.parts.joinTokens.current(ttl, by);
    return {
      token: made.token,
      expiresAt: new Date(made.expiresAt).toISOString(),
      caFingerprint: this.parts.ca.fingerprint,
    };
  }

  /**
   * Joins a node: the token checked, the node recorded, its public key certified by the cluster
   * CA. A name another node holds is refused.
   */
  async join(
    request: { token: string; name: string; labels: Record<string, string>; publicKey: string },
    address: string | null,
  ): Promise<{ id: string; certificate: string; ca: string }> {
    const who: Actor = {
      principal: {
        kind: 'user',
        id: 0,
        name: `node:${request.name}`,
        admin: false,
        session: 'join',
      },
      address,
    };
    return this.audited(
      who,
      'cluster.node.join',
      request.name,
      { labels: request.labels },
      async () => {
        const refusal = await this.parts.joinTokens.refusal(request.token);
        if (refusal) throw new BerthError('DENIED', refusal);
        if (await this.meta.cluster.nodeByName(request.name))
          throw new BerthError('CONFLICT', `a node named ${request.name} exists; remove it first`);
        const id = `n${randomBytes(8).toString('hex')}`;
        let issued: { certificate: string; serial: string };
        try {
          issued = await this.parts.ca.issue(
            id,
            request.publicKey,
            this.parts.settings.certificateDays,
          );
        } catch {
          throw new BerthError(
            'INVALID_REQUEST',
            'publicKey is not an ECDSA P-256 public key (PEM)',
          );
        }
        const now = Date.now();
        await this.meta.cluster.addNode({
          id,
          name: request.name,
          labels: request.labels,
          engine: {},
          certificate: issued.certificate,
          certSerial: issued.serial,
          availability: 'active',
          engineOk: false,
          engineError: 'not connected yet',
          memFree: null,
          joinedAt: now,
          lastSeen: 0,
          revokedAt: null,
        });
        return { id, certificate: issued.certificate, ca: this.parts.ca.certificate };
      },
    );
  }

  /**
   * The node an agent's connection speaks for: its certificate signed by the CA and the one on
   * record (not revoked), its proof signed with the certificate's key. DENIED otherwise.
   */
  async authenticateAgent(certificatePem: string, proof: string): Promise<NodeRecord> {
    const verified = this.parts.ca.verify(certificatePem);
    if (!verified) throw new BerthError('DENIED', 'the node certificate is not from this cluster');
    const node = await this.meta.cluster.node(verified.nodeId);
    if (!node) throw new BerthError('DENIED', 'the node was removed');
    if (node.revokedAt !== null || node.certSerial !== verified.serial)
      throw new BerthError('DENIED', 'the node certificate was revoked');
    if (!(await proofHolds(proof, verified.publicKey, node.id)))
      throw new BerthError('DENIED', 'the node proof does not hold');
    return node;
  }

  /** A node's status now. */
  statusOf(node: NodeRecord, now = Date.now()): NodeStatus {
    if (node.revokedAt !== null) return 'revoked';
    if (now - node.lastSeen > this.parts.settings.downAfterMs) return 'down';
    return node.engineOk ? 'ready' : 'unreachable';
  }

  private view(node: NodeRecord, access: ControlAccess): NodeView {
    return {
      id: node.id,
      name: node.name,
      status: this.statusOf(node),
      availability: node.availability,
      labels: node.labels,
      engine: node.engine as Partial<EngineInfo>,
      engineError: node.engineError,
      memFree: node.memFree,
      connected: this.parts.hub.connected(node.id),
      joinedAt: new Date(node.joinedAt).toISOString(),
      lastSeen: new Date(node.lastSeen).toISOString(),
      collections: access.collectionsOf(node.labels),
    };
  }

  /** The nodes the actor may view. */
  async nodes(actor: Actor): Promise<NodeView[]> {
    const access = await ControlAccess.of(this.meta, actor);
    return (await this.meta.cluster.nodes())
      .filter((n) => atLeast(access.levelOn(n.labels), 'view'))
      .map((n) => this.view(n, access));
  }

  private async nodeNamed(name: string): Promise<NodeRecord> {
    const node = (await this.meta.cluster.nodeByName(name)) ?? (await this.meta.cluster.node(name));
    if (!node) throw new BerthError('NOT_FOUND', `no node ${name}`);
    return node;
  }

  /** One node (those the actor may view). */
  async node(actor: Actor, name: string): Promise<NodeView> {
    const access = await ControlAccess.of(this.meta, actor);
    const node = await this.nodeNamed(name);
    if (!atLeast(access.levelOn(node.labels), 'view'))
      throw new BerthError('NOT_FOUND', `no node ${name}`);
    return this.view(node, access);
  }

  /** Changes a node's labels or availability (`drain`: nothing new is run there). */
  async updateNode(
    actor: Actor,
    name: string,
    changes: { labels?: Record<string, string>; availability?: 'active' | 'drain' },
  ): Promise<NodeView> {
    const access = await ControlAccess.of(this.meta, actor);
    this.requireAdmin(access, 'change nodes');
    const node = await this.nodeNamed(name);
    await this.audited(actor, 'cluster.node.update', node.name, changes, () =>
      this.meta.cluster.updateNode(node.id, changes),
    );
    return this.view((await this.meta.cluster.node(node.id))!, access);
  }

  /** Revokes a node's certificate (it stays listed, refused) or removes it altogether. */
  async removeNode(actor: Actor, name: string, keepRevoked: boolean): Promise<void> {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'remove nodes');
    const node = await this.nodeNamed(name);
    await this.audited(
      actor,
      keepRevoked ? 'cluster.node.revoke' : 'cluster.node.remove',
      node.name,
      {},
      async () => {
        if (keepRevoked) await this.meta.cluster.updateNode(node.id, { revokedAt: Date.now() });
        else await this.meta.cluster.removeNode(node.id);
      },
    );
    this.parts.hub.disconnect(
      node.id,
      keepRevoked ? 'the node certificate was revoked' : 'the node was removed',
    );
  }

  // ---- inventory ------------------------------------------------------------------------

  private async inventories(): Promise<{ node: NodeRecord; snapshot: Snapshot }[]> {
    const nodes = new Map((await this.meta.cluster.nodes()).map((n) => [n.id, n]));
    return (await this.meta.cluster.inventories()).flatMap(({ nodeId, snapshot }) => {
      const node = nodes.get(nodeId);
      return node ? [{ node, snapshot: snapshot as Snapshot }] : [];
    });
  }

  /**
   * Every container the actor may view across the nodes, filtered by node, state, a text (`q`,
   * in names, image or id) and Berth repository; each with the Berth image it runs and whether
   * its tag is signed for that digest.
   */
  async containers(
    actor: Actor,
    filter: { node?: string; state?: string; q?: string; repository?: string } = {},
  ): Promise<ContainerView[]> {
    const access = await ControlAccess.of(this.meta, actor);
    const out: ContainerView[] = [];
    // Many containers run the same image: each signature is looked up once per listing.
    const signedMemo = new Map<string, Promise<boolean>>();
    for (const { node, snapshot } of await this.inventories()) {
      if (filter.node && node.name !== filter.node && node.id !== filter.node) continue;
      for (const c of snapshot.containers) {
        if (!atLeast(access.levelOn(node.labels, c.labels), 'view')) continue;
        if (filter.state && c.state !== filter.state) continue;
        const q = filter.q?.toLowerCase();
        if (q && ![c.id, c.image, ...c.names].some((x) => x.toLowerCase().includes(q))) continue;
        const repository = c.labels[`${LABEL_PREFIX}repository`];
        if (filter.repository && repository !== filter.repository) continue;
        out.push({
          ...c,
          node: node.name,
          nodeId: node.id,
          berth: await this.berthImage(c, signedMemo),
        });
      }
    }
    return out.sort((a, b) =>
      a.node === b.node ? b.created - a.created : a.node < b.node ? -1 : 1,
    );
  }

  private async berthImage(
    c: ContainerSummary,
    memo: Map<string, Promise<boolean>>,
  ): Promise<ContainerView['berth']> {
    const repository = c.labels[`${LABEL_PREFIX}repository`];
    const digest = c.labels[`${LABEL_PREFIX}digest`];
    if (!repository || !digest) return null;
    const tag = c.labels[`${LABEL_PREFIX}tag`] || null;
    const key = `${repository}:${tag}@${digest}`;
    if (tag !== null && !memo.has(key))
      memo.set(key, this.parts.admission.signatureMatches(repository, tag, digest));
    const signed = tag !== null && (await memo.get(key)!);
    return { repository, tag, digest, signed };
  }

  /** Images, networks or volumes across the nodes the actor may view. */
  async inventory(actor: Actor, kind: 'images' | 'networks' | 'volumes', node?: string) {
    const access = await ControlAccess.of(this.meta, actor);
    const out: Record<string, unknown>[] = [];
    for (const { node: n, snapshot } of await this.inventories()) {
      if (node && n.name !== node) continue;
      if (!atLeast(access.levelOn(n.labels), 'view')) continue;
      for (const item of snapshot[kind]) out.push({ node: n.name, ...item });
    }
    return out;
  }

  // ---- containers -----------------------------------------------------------------------

  /** Ready, active nodes the actor has `needed` on, matching `constraints`, most free memory first. */
  private async candidates(
    access: ControlAccess,
    needed: ControlLevel,
    constraints: Record<string, string>,
    containerLabels: Record<string, string>,
  ): Promise<NodeRecord[]> {
    const nodes = (await this.meta.cluster.nodes()).filter(
      (n) =>
        this.statusOf(n) === 'ready' &&
        n.availability === 'active' &&
        this.parts.hub.connected(n.id) &&
        Object.entries(constraints).every(([k, v]) => n.labels[k] === v) &&
        atLeast(access.levelOn(n.labels, containerLabels), needed),
    );
    const free = (n: NodeRecord) =>
      n.memFree ?? Number((n.engine as { memTotal?: number }).memTotal ?? 0);
    return nodes.sort((a, b) => free(b) - free(a));
  }

  /** A pull credential for `decision`'s repository, good for a few minutes, for the actor. */
  private async credential(actor: Actor, decision: AdmissionDecision, what: string) {
    if (!decision.repository) return undefined;
    if (!(await this.parts.allows(actor.principal, decision.repository, 'pull')))
      throw new BerthError('DENIED', `${actor.principal.name} may not pull ${decision.repository}`);
    const minted = await this.parts.credentials.mint(
      actor.principal.name,
      decision.repository,
      this.parts.settings.credentialTtlMs,
      `${what} (control plane)`,
    );
    const auth: RegistryAuth = {
      username: actor.principal.name,
      password: minted.token,
      serveraddress: this.parts.settings.registry,
    };
    return { auth, id: minted.id };
  }

  private imageLabels(decision: AdmissionDecision, actor: Actor): Record<string, string> {
    return {
      [`${LABEL_PREFIX}run-by`]: actor.principal.name,
      ...(decision.repository
        ? {
            [`${LABEL_PREFIX}repository`]: decision.repository,
            [`${LABEL_PREFIX}tag`]: decision.tag ?? '',
            [`${LABEL_PREFIX}digest`]: decision.digest ?? '',
          }
        : {}),
    };
  }

  /**
   * Runs `request` on its node (or the best candidate): admitted, pinned to the digest, pulled
   * with a credential for that one repository. Needs full control of the node and the labels.
   */
  async run(
    actor: Actor,
    request: RunRequest,
  ): Promise<{ node: string; id: string; image: string; decision: AdmissionDecision }> {
    const labels = request.labels ?? {};
    if (Object.keys(labels).some((k) => k.startsWith(LABEL_PREFIX)))
      throw new BerthError('INVALID_REQUEST', `labels starting ${LABEL_PREFIX} are Berth's own`);
    const detail = { image: request.image, node: request.node ?? null };
    return this.audited(actor, 'cluster.container.run', request.image, detail, async () => {
      const access = await ControlAccess.of(this.meta, actor);
      let node: NodeRecord;
      if (request.node) {
        node = await this.nodeNamed(request.node);
        if (!atLeast(access.levelOn(node.labels, labels), 'full'))
          throw new BerthError(
            'DENIED',
            `${actor.principal.name} may not run containers on ${node.name}`,
          );
        if (this.statusOf(node) !== 'ready')
          throw new BerthError('UNAVAILABLE', `node ${node.name} is ${this.statusOf(node)}`);
        if (node.availability === 'drain')
          throw new BerthError('UNAVAILABLE', `node ${node.name} is drained`);
      } else {
        const [best] = await this.candidates(access, 'full', request.constraints ?? {}, labels);
        if (!best)
          throw new BerthError('UNAVAILABLE', 'no ready node matches (or may be run on by you)');
        node = best;
      }
      const decision = await this.parts.admission.decide(request.image, node.labels);
      const credential = await this.credential(actor, decision, `run on ${node.name}`);
      try {
        const result = (await this.parts.hub.call(node.id, 'run', {
          image: decision.ref,
          name: request.name,
          command: request.command,
          env: request.env,
          network: request.network,
          labels: { ...labels, ...this.imageLabels(decision, actor) },
          auth: credential?.auth,
        })) as { id: string };
        Object.assign(detail, { node: node.name, container: result.id, pinned: decision.ref });
        return { node: node.name, id: result.id, image: decision.ref, decision };
      } finally {
        if (credential) await this.parts.credentials.revoke(credential.id);
      }
    });
  }

  /** The admission decision for `image` on node `nodeName` (a dry run; nothing is run). */
  async admit(actor: Actor, image: string, nodeName?: string): Promise<AdmissionDecision> {
    const access = await ControlAccess.of(this.meta, actor);
    const node = nodeName ? await this.nodeNamed(nodeName) : undefined;
    if (node && !atLeast(access.levelOn(node.labels), 'view'))
      throw new BerthError('NOT_FOUND', `no node ${nodeName}`);
    return this.parts.admission.decide(image, node?.labels ?? {});
  }

  private async container(
    access: ControlAccess,
    nodeName: string,
    id: string,
    needed: ControlLevel,
  ) {
    const node = await this.nodeNamed(nodeName);
    const snapshot = (await this.inventories()).find((i) => i.node.id === node.id)?.snapshot;
    const c = snapshot?.containers.find(
      (x) => x.id === id || x.id.startsWith(id) || x.names.includes(id),
    );
    const level = access.levelOn(node.labels, c?.labels ?? {});
    if (!atLeast(level, 'view'))
      throw new BerthError('NOT_FOUND', `no container ${id} on ${nodeName}`);
    if (!atLeast(level, needed))
      throw new BerthError('DENIED', `${needed} control is needed on ${nodeName} for that`);
    return { node, id: c?.id ?? id };
  }

  /** Starts, stops, restarts (operate) or removes (full control) a container. */
  async containerAction(
    actor: Actor,
    nodeName: string,
    id: string,
    action: 'start' | 'stop' | 'restart' | 'remove',
  ): Promise<void> {
    await this.audited(actor, `cluster.container.${action}`, `${nodeName}/${id}`, {}, async () => {
      const access = await ControlAccess.of(this.meta, actor);
      const c = await this.container(
        access,
        nodeName,
        id,
        action === 'remove' ? 'full' : 'operate',
      );
      await this.parts.hub.call(c.node.id, action, { id: c.id });
    });
  }

  /** The last `tail` lines of a container's logs (operate). */
  async logs(actor: Actor, nodeName: string, id: string, tail: number): Promise<string> {
    const access = await ControlAccess.of(this.meta, actor);
    const c = await this.container(access, nodeName, id, 'operate');
    return ((await this.parts.hub.call(c.node.id, 'logs', { id: c.id, tail })) as { text: string })
      .text;
  }

  /** Follows a container's logs or stats (operate) to `onChunk`. */
  async follow(
    actor: Actor,
    nodeName: string,
    id: string,
    what: 'logs' | 'stats',
    tail: number,
    onChunk: (data: string) => void,
  ): Promise<AgentStream> {
    const access = await ControlAccess.of(this.meta, actor);
    const c = await this.container(access, nodeName, id, 'operate');
    return this.parts.hub.stream(c.node.id, what, { id: c.id, tail }, onChunk);
  }

  /** One reading of a container's resource use (operate). */
  async stats(actor: Actor, nodeName: string, id: string): Promise<unknown> {
    const access = await ControlAccess.of(this.meta, actor);
    const c = await this.container(access, nodeName, id, 'operate');
    return this.parts.hub.call(c.node.id, 'stats', { id: c.id });
  }

  // ---- Swarm services -------------------------------------------------------------------

  /** The Swarm services the managers report, with their tasks' states. */
  async services(actor: Actor) {
    const access = await ControlAccess.of(this.meta, actor);
    const seen = new Map<string, Record<string, unknown>>();
    for (const { node, snapshot } of await this.inventories()) {
      if (!snapshot.swarm || !atLeast(access.levelOn(node.labels), 'view')) continue;
      for (const s of snapshot.swarm.services) {
        const tasks = snapshot.swarm.tasks.filter(
          (t) => t.serviceId === s.id && t.desiredState === 'running',
        );
        const hostnames = new Map(snapshot.swarm.nodes.map((n) => [n.id, n.address || n.hostname]));
        seen.set(s.id, {
          ...s,
          manager: node.name,
          running: tasks.filter((t) => t.state === 'running').length,
          tasks: tasks.map((t) => ({ ...t, node: hostnames.get(t.nodeId) ?? t.nodeId })),
        });
      }
    }
    return [...seen.values()];
  }

  private async manager(access: ControlAccess): Promise<NodeRecord> {
    const managers = (await this.candidates(access, 'full', {}, {})).filter(
      (n) => (n.engine as Partial<EngineInfo>).swarm?.role === 'manager',
    );
    if (!managers[0])
      throw new BerthError(
        'UNAVAILABLE',
        'no ready Swarm manager node (that you have full control of)',
      );
    return managers[0];
  }

  /** Deploys a Swarm service from an admitted, pinned image through a manager node. */
  async createService(actor: Actor, request: ServiceRequest) {
    return this.audited(
      actor,
      'cluster.service.create',
      request.name,
      { image: request.image, replicas: request.replicas },
      async () => {
        const access = await ControlAccess.of(this.meta, actor);
        const manager = await this.manager(access);
        const decision = await this.parts.admission.decide(request.image, manager.labels);
        const credential = await this.credential(actor, decision, `service ${request.name}`);
        const result = (await this.parts.hub.call(manager.id, 'service.create', {
          name: request.name,
          image: decision.ref,
          replicas: request.replicas,
          command: request.command,
          labels: { ...(request.labels ?? {}), ...this.imageLabels(decision, actor) },
          auth: credential?.auth,
        })) as { id: string };
        // The credential stays valid for its few minutes: the workers pull with it.
        return { id: result.id, manager: manager.name, image: decision.ref, decision };
      },
    );
  }

  /** Scales service `name` to `replicas` (a fresh pull credential goes with it). */
  async scaleService(actor: Actor, name: string, replicas: number) {
    return this.audited(actor, 'cluster.service.scale', name, { replicas }, async () => {
      const access = await ControlAccess.of(this.meta, actor);
      const manager = await this.manager(access);
      const service = (await this.services(actor)).find((s) => s.name === name || s.id === name) as
        { id: string; labels: Record<string, string> } | undefined;
      if (!service) throw new BerthError('NOT_FOUND', `no service ${name}`);
      const repository = service.labels[`${LABEL_PREFIX}repository`];
      const digest = service.labels[`${LABEL_PREFIX}digest`];
      const credential =
        repository && digest
          ? await this.credential(
              actor,
              { ref: '', repository, tag: null, digest, signed: false, signers: [], policies: [] },
              `service ${name}`,
            )
          : undefined;
      await this.parts.hub.call(manager.id, 'service.scale', {
        id: service.id,
        replicas,
        auth: credential?.auth,
      });
      return { id: service.id, replicas };
    });
  }

  // ---- collections, grants, policies ----------------------------------------------------

  /** Every collection with its grants (team names). */
  async collections(actor: Actor) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'see collections');
    const teams = new Map<number, string>();
    for (const org of await this.meta.accounts.list('org'))
      for (const t of await this.meta.teams.list(org.id)) teams.set(t.id, `${org.name}/${t.name}`);
    return (await this.meta.cluster.collections()).map((c) => ({
      ...c,
      grants: c.grants.map((g) => ({
        team: teams.get(g.teamId) ?? String(g.teamId),
        level: g.level,
      })),
    }));
  }

  /** Saves a collection. */
  async putCollection(
    actor: Actor,
    name: string,
    nodeLabels: Record<string, string>,
    containerLabels: Record<string, string>,
  ) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'change collections');
    await this.audited(actor, 'cluster.collection.put', name, { nodeLabels, containerLabels }, () =>
      this.meta.cluster.putCollection(name, nodeLabels, containerLabels),
    );
  }

  /** Removes a collection and its grants. */
  async removeCollection(actor: Actor, name: string) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'change collections');
    const removed = await this.audited(actor, 'cluster.collection.remove', name, {}, () =>
      this.meta.cluster.removeCollection(name),
    );
    if (!removed) throw new BerthError('NOT_FOUND', `no collection ${name}`);
  }

  /** Grants team `org/team` `level` on a collection (null takes it away). */
  async grant(actor: Actor, collection: string, team: string, level: ControlLevel | null) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'grant collections');
    const [orgName, teamName] = team.split('/');
    const org = orgName ? await this.meta.accounts.byName(orgName) : undefined;
    const found = org && teamName ? await this.meta.teams.byName(org.id, teamName) : undefined;
    if (!found) throw new BerthError('NOT_FOUND', `no team ${team} (org/team)`);
    if (!(await this.meta.cluster.collections()).some((c) => c.name === collection))
      throw new BerthError('NOT_FOUND', `no collection ${collection}`);
    await this.audited(actor, 'cluster.grant', collection, { team, level }, () =>
      this.meta.cluster.setGrant(collection, found.id, level),
    );
  }

  /** Every admission policy. */
  async policies(actor: Actor) {
    await ControlAccess.of(this.meta, actor);
    return this.meta.cluster.policies();
  }

  /** Sets the admission policy of `scope` (`namespace:NS` or `collection:NAME`). */
  async putPolicy(
    actor: Actor,
    scope: string,
    policy: { signedOnly: boolean; signers: string[]; berthOnly: boolean },
  ) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'set admission policies');
    if (!/^(namespace|collection):[a-z0-9][a-z0-9._-]*$/.test(scope))
      throw new BerthError(
        'INVALID_REQUEST',
        'a policy scope is namespace:NAME or collection:NAME',
      );
    await this.audited(actor, 'cluster.policy.put', scope, policy, () =>
      this.meta.cluster.putPolicy({
        scope,
        ...policy,
        createdBy: actor.principal.name,
        createdAt: Date.now(),
      }),
    );
  }

  /** Lifts the admission policy of `scope`. */
  async removePolicy(actor: Actor, scope: string) {
    this.requireAdmin(await ControlAccess.of(this.meta, actor), 'set admission policies');
    const removed = await this.audited(actor, 'cluster.policy.remove', scope, {}, () =>
      this.meta.cluster.removePolicy(scope),
    );
    if (!removed) throw new BerthError('NOT_FOUND', `no policy on ${scope}`);
  }
}
