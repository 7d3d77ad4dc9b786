/**
 * Workloads across nodes: the inventory (containers with their Berth image and signature),
 * containers run under admission and managed, logs and stats, and Swarm services.
 */
import type { Actor } from '../auth/index.js';
import type { NodeRecord } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { atLeast, ControlAccess, type ControlLevel } from './access.js';
import type { AdmissionDecision } from './admission.js';
import type { AgentStream } from './hub.js';
import type { ContainerSummary, EngineInfo, RegistryAuth, Snapshot } from './protocol.js';
import type { ContainerView, RunRequest, ServiceRequest } from './plane-base.js';
import { LABEL_PREFIX } from './plane-base.js';
import { PlaneBase } from './plane-base.js';

/** WorkloadService. */
export class WorkloadService extends PlaneBase {
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
}
