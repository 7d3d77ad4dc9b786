/** The control plane's records: cluster CA, join tokens, nodes, inventory, collections, grants, policies. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A node of the control plane. */
export interface NodeRecord {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** What the engine said of itself (version, OS, CPUs, memory, Swarm role, …). */
  engine: Record<string, unknown>;
  certificate: string;
  certSerial: string;
  availability: 'active' | 'drain';
  engineOk: boolean;
  engineError: string | null;
  memFree: number | null;
  joinedAt: number;
  lastSeen: number;
  revokedAt: number | null;
}

/** A join token (its secret sealed, to be shown again until rotated). */
export interface JoinTokenRecord {
  id: string;
  secretHash: string;
  sealedToken: string;
  createdBy: string | null;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** A collection: nodes and containers chosen by labels. */
export interface CollectionRecord {
  name: string;
  nodeLabels: Record<string, string>;
  containerLabels: Record<string, string>;
  grants: { teamId: number; level: 'view' | 'operate' | 'full' }[];
}

/** An admission policy on a scope (`namespace:acme` or `collection:prod`). */
export interface AdmissionPolicyRecord {
  scope: string;
  signedOnly: boolean;
  signers: string[];
  berthOnly: boolean;
  createdBy: string | null;
  createdAt: number;
}

type NodeRow = Database['cluster_nodes'];

const json = <T>(text: string): T => JSON.parse(text) as T;

function nodeOf(r: NodeRow): NodeRecord {
  return {
    id: r.id,
    name: r.name,
    labels: json(r.labels),
    engine: json(r.engine),
    certificate: r.certificate,
    certSerial: r.cert_serial,
    availability: r.availability === 'drain' ? 'drain' : 'active',
    engineOk: Number(r.engine_ok) === 1,
    engineError: r.engine_error,
    memFree: r.mem_free === null ? null : Number(r.mem_free),
    joinedAt: Number(r.joined_at),
    lastSeen: Number(r.last_seen),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}

/** Reads and writes the control plane's records. */
export class ClusterStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The cluster CA, if made. */
  async ca(): Promise<{ certificate: string; sealedKey: string } | undefined> {
    const row = await this.db.selectFrom('cluster_ca').selectAll().executeTakeFirst();
    return row && { certificate: row.certificate, sealedKey: row.sealed_key };
  }

  /** Saves the cluster CA unless one exists; returns the one in force. */
  async saveCa(
    certificate: string,
    sealedKey: string,
  ): Promise<{ certificate: string; sealedKey: string }> {
    await this.db
      .insertInto('cluster_ca')
      .values({ id: 1, certificate, sealed_key: sealedKey, created_at: Date.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return (await this.ca())!;
  }

  /** Adds a join token. */
  async addJoinToken(token: Omit<JoinTokenRecord, 'revokedAt'>): Promise<void> {
    await this.db
      .insertInto('cluster_join_tokens')
      .values({
        id: token.id,
        secret_hash: token.secretHash,
        sealed_token: token.sealedToken,
        created_by: token.createdBy,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
        revoked_at: null,
      })
      .execute();
  }

  /** The join token `id`. */
  async joinToken(id: string): Promise<JoinTokenRecord | undefined> {
    const r = await this.db
      .selectFrom('cluster_join_tokens')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return r && this.tokenOf(r);
  }

  /** The newest join token neither revoked nor expired at `now`. */
  async liveJoinToken(now: number): Promise<JoinTokenRecord | undefined> {
    const r = await this.db
      .selectFrom('cluster_join_tokens')
      .selectAll()
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    return r && this.tokenOf(r);
  }

  /** Revokes every join token. */
  async revokeJoinTokens(at: number): Promise<void> {
    await this.db
      .updateTable('cluster_join_tokens')
      .set({ revoked_at: at })
      .where('revoked_at', 'is', null)
      .execute();
  }

  private tokenOf(r: Database['cluster_join_tokens']): JoinTokenRecord {
    return {
      id: r.id,
      secretHash: r.secret_hash,
      sealedToken: r.sealed_token,
      createdBy: r.created_by,
      createdAt: Number(r.created_at),
      expiresAt: Number(r.expires_at),
      revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    };
  }

  /** Every node, by name. */
  async nodes(): Promise<NodeRecord[]> {
    const rows = await this.db.selectFrom('cluster_nodes').selectAll().orderBy('name').execute();
    return rows.map(nodeOf);
  }

  /** The node `id`. */
  async node(id: string): Promise<NodeRecord | undefined> {
    const r = await this.db
      .selectFrom('cluster_nodes')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return r && nodeOf(r);
  }

  /** The node named `name`. */
  async nodeByName(name: string): Promise<NodeRecord | undefined> {
    const r = await this.db
      .selectFrom('cluster_nodes')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return r && nodeOf(r);
  }

  /** Adds a node. */
  async addNode(node: NodeRecord): Promise<void> {
    await this.db
      .insertInto('cluster_nodes')
      .values({
        id: node.id,
        name: node.name,
        labels: JSON.stringify(node.labels),
        engine: JSON.stringify(node.engine),
        certificate: node.certificate,
        cert_serial: node.certSerial,
        availability: node.availability,
        engine_ok: node.engineOk ? 1 : 0,
        engine_error: node.engineError,
        mem_free: node.memFree,
        joined_at: node.joinedAt,
        last_seen: node.lastSeen,
        revoked_at: node.revokedAt,
      })
      .execute();
  }

  /** Records a heartbeat of node `id`: when, the engine's health and what it said of itself. */
  async heartbeat(
    id: string,
    beat: {
      at: number;
      engineOk: boolean;
      engineError: string | null;
      memFree: number | null;
      engine?: Record<string, unknown>;
    },
  ): Promise<void> {
    await this.db
      .updateTable('cluster_nodes')
      .set({
        last_seen: beat.at,
        engine_ok: beat.engineOk ? 1 : 0,
        engine_error: beat.engineError,
        mem_free: beat.memFree,
        ...(beat.engine ? { engine: JSON.stringify(beat.engine) } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Changes a node's labels, availability or revocation. */
  async updateNode(
    id: string,
    changes: Partial<Pick<NodeRecord, 'labels' | 'availability' | 'revokedAt' | 'lastSeen'>>,
  ): Promise<void> {
    await this.db
      .updateTable('cluster_nodes')
      .set({
        ...(changes.labels ? { labels: JSON.stringify(changes.labels) } : {}),
        ...(changes.availability ? { availability: changes.availability } : {}),
        ...(changes.revokedAt !== undefined ? { revoked_at: changes.revokedAt } : {}),
        ...(changes.lastSeen !== undefined ? { last_seen: changes.lastSeen } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Removes node `id` (its inventory goes with it). */
  async removeNode(id: string): Promise<void> {
    await this.db.deleteFrom('cluster_inventory').where('node_id', '=', id).execute();
    await this.db.deleteFrom('cluster_nodes').where('id', '=', id).execute();
  }

  /** Saves node `id`'s inventory snapshot. */
  async saveInventory(id: string, snapshot: unknown, at: number): Promise<void> {
    const row = { node_id: id, snapshot: JSON.stringify(snapshot), updated_at: at };
    await this.db
      .insertInto('cluster_inventory')
      .values(row)
      .onConflict((oc) => oc.column('node_id').doUpdateSet(row))
      .execute();
  }

  /** Every node's inventory snapshot. */
  async inventories(): Promise<{ nodeId: string; snapshot: unknown; updatedAt: number }[]> {
    const rows = await this.db.selectFrom('cluster_inventory').selectAll().execute();
    return rows.map((r) => ({
      nodeId: r.node_id,
      snapshot: JSON.parse(r.snapshot) as unknown,
      updatedAt: Number(r.updated_at),
    }));
  }

  /** Every collection with its grants. */
  async collections(): Promise<CollectionRecord[]> {
    const rows = await this.db
      .selectFrom('cluster_collections')
      .selectAll()
      .orderBy('name')
      .execute();
    const grants = await this.db.selectFrom('cluster_grants').selectAll().execute();
    return rows.map((r) => ({
      name: r.name,
      nodeLabels: json(r.node_labels),
      containerLabels: json(r.container_labels),
      grants: grants
        .filter((g) => g.collection === r.name)
        .map((g) => ({
          teamId: Number(g.team_id),
          level: g.level === 'full' ? 'full' : g.level === 'operate' ? 'operate' : 'view',
        })),
    }));
  }

  /** Saves a collection (its grants kept). */
  async putCollection(
    name: string,
    nodeLabels: Record<string, string>,
    containerLabels: Record<string, string>,
  ): Promise<void> {
    const row = {
      name,
      node_labels: JSON.stringify(nodeLabels),
      container_labels: JSON.stringify(containerLabels),
      created_at: Date.now(),
    };
    await this.db
      .insertInto('cluster_collections')
      .values(row)
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          node_labels: row.node_labels,
          container_labels: row.container_labels,
        }),
      )
      .execute();
  }

  /** Removes a collection and its grants; false when there was none. */
  async removeCollection(name: string): Promise<boolean> {
    await this.db.deleteFrom('cluster_grants').where('collection', '=', name).execute();
    const r = await this.db
      .deleteFrom('cluster_collections')
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Grants `teamId` `level` on `collection` (null: takes the grant away). */
  async setGrant(
    collection: string,
    teamId: number,
    level: 'view' | 'operate' | 'full' | null,
  ): Promise<void> {
    await this.db
      .deleteFrom('cluster_grants')
      .where('collection', '=', collection)
      .where('team_id', '=', teamId)
      .execute();
    if (level)
      await this.db
        .insertInto('cluster_grants')
        .values({ collection, team_id: teamId, level })
        .execute();
  }

  /** Every admission policy. */
  async policies(): Promise<AdmissionPolicyRecord[]> {
    const rows = await this.db
      .selectFrom('cluster_policies')
      .selectAll()
      .orderBy('scope')
      .execute();
    return rows.map((r) => ({
      scope: r.scope,
      signedOnly: Number(r.signed_only) === 1,
      signers: json<string[]>(r.signers),
      berthOnly: Number(r.berth_only) === 1,
      createdBy: r.created_by,
      createdAt: Number(r.created_at),
    }));
  }

  /** Saves an admission policy. */
  async putPolicy(p: AdmissionPolicyRecord): Promise<void> {
    const row = {
      scope: p.scope,
      signed_only: p.signedOnly ? 1 : 0,
      signers: JSON.stringify(p.signers),
      berth_only: p.berthOnly ? 1 : 0,
      created_by: p.createdBy,
      created_at: p.createdAt,
    };
    await this.db
      .insertInto('cluster_policies')
      .values(row)
      .onConflict((oc) => oc.column('scope').doUpdateSet(row))
      .execute();
  }

  /** Removes an admission policy; false when there was none. */
  async removePolicy(scope: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('cluster_policies')
      .where('scope', '=', scope)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
