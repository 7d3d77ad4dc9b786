/** Nodes: join tokens, joining, agent authentication, status, labels, drain, removal and revocation. */
import { randomBytes } from 'node:crypto';
import type { Actor } from '../auth/index.js';
import type { NodeRecord } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { atLeast, ControlAccess } from './access.js';
import { proofHolds } from './node-auth.js';
import type { EngineInfo } from './protocol.js';
import type { NodeView } from './plane-base.js';
import { PlaneBase } from './plane-base.js';

/** NodeService. */
export class NodeService extends PlaneBase {
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
      caFingerprint: (await this.parts.ca()).fingerprint,
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
        const ca = await this.parts.ca();
        let issued: { certificate: string; serial: string };
        try {
          issued = await ca.issue(id, request.publicKey, this.parts.settings.certificateDays);
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
        return { id, certificate: issued.certificate, ca: ca.certificate };
      },
    );
  }

  /**
   * The node an agent's connection speaks for: its certificate signed by the CA and the one on
   * record (not revoked), its proof signed with the certificate's key. DENIED otherwise.
   */
  async authenticateAgent(certificatePem: string, proof: string): Promise<NodeRecord> {
    const verified = (await this.parts.ca()).verify(certificatePem);
    if (!verified) throw new BerthError('DENIED', 'the node certificate is not from this cluster');
    const node = await this.meta.cluster.node(verified.nodeId);
    if (!node) throw new BerthError('DENIED', 'the node was removed');
    if (node.revokedAt !== null || node.certSerial !== verified.serial)
      throw new BerthError('DENIED', 'the node certificate was revoked');
    if (!(await proofHolds(proof, verified.publicKey, node.id)))
      throw new BerthError('DENIED', 'the node proof does not hold');
    return node;
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
}
