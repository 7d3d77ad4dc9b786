/** Content trust tables: TUF metadata files with their history, server keys, changes, policies. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** One stored metadata file of a GUN (exact bytes). */
export interface TrustFileRecord {
  gun: string;
  repository: string;
  role: string;
  version: number;
  sha256: string;
  sha512: string;
  content: Buffer;
  expiresAt: number;
  createdAt: number;
}

/** A server-held key of a GUN's role; the private half is encrypted. */
export interface TrustKeyRecord {
  gun: string;
  role: string;
  keyId: string;
  algorithm: string;
  publicKey: string;
  privateKey: string;
  createdAt: number;
}

/** One entry of the changefeed. */
export interface TrustChangeRecord {
  id: number;
  gun: string;
  version: number;
  sha256: string;
  category: 'update' | 'deletion';
  createdAt: number;
}

/** A signed-tags requirement on a repository (`team/app`) or namespace (`team/`). */
export interface TrustPolicyRecord {
  scope: string;
  signers: string[];
  createdBy: string | null;
  createdAt: number;
  /** What an unmet requirement does to a pull: refuse it, serve it with a warning, or record it. */
  mode: 'enforce' | 'warn' | 'audit';
  /** The signature kinds that count. */
  kinds: ('notary' | 'cosign' | 'notation')[];
  /** How many of `signers` must have signed; null: all (or, with no signers named, any one signature). */
  threshold: number | null;
}

type FileRow = Database['trust_files'];

function toFile(r: Omit<FileRow, 'id'> & { id?: unknown }): TrustFileRecord {
  return {
    gun: r.gun,
    repository: r.repository,
    role: r.role,
    version: Number(r.version),
    sha256: r.sha256,
    sha512: r.sha512,
    content: Buffer.from(r.content),
    expiresAt: Number(r.expires_at),
    createdAt: Number(r.created_at),
  };
}

/** Reads and writes the trust tables. */
export class TrustStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The newest version of every role of `gun`. */
  async current(gun: string): Promise<TrustFileRecord[]> {
    const rows = await this.db
      .selectFrom('trust_files as f')
      .selectAll('f')
      .where('f.gun', '=', gun)
      .where(({ eb, selectFrom }) =>
        eb(
          'f.version',
          '=',
          selectFrom('trust_files as g')
            .select(({ fn }) => fn.max('g.version').as('v'))
            .whereRef('g.gun', '=', 'f.gun')
            .whereRef('g.role', '=', 'f.role'),
        ),
      )
      .execute();
    return rows.map(toFile);
  }

  /** The file of `role` whose sha256 (64 hex) or sha512 (128 hex) is `hex`. */
  async byChecksum(gun: string, role: string, hex: string): Promise<TrustFileRecord | undefined> {
    const column = hex.length === 128 ? 'sha512' : 'sha256';
    const row = await this.db
      .selectFrom('trust_files')
      .selectAll()
      .where('gun', '=', gun)
      .where('role', '=', role)
      .where(column, '=', hex.toLowerCase())
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toFile(row);
  }

  /** Version `version` of `role`. */
  async byVersion(
    gun: string,
    role: string,
    version: number,
  ): Promise<TrustFileRecord | undefined> {
    const row = await this.db
      .selectFrom('trust_files')
      .selectAll()
      .where('gun', '=', gun)
      .where('role', '=', role)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && toFile(row);
  }

  /** Every version of `role`, newest first, at most `limit`. */
  async history(gun: string, role: string, limit: number): Promise<TrustFileRecord[]> {
    const rows = await this.db
      .selectFrom('trust_files')
      .selectAll()
      .where('gun', '=', gun)
      .where('role', '=', role)
      .orderBy('version', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toFile);
  }

  /** The GUNs holding trust data for `repository`. */
  async gunsOf(repository: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('trust_files')
      .select('gun')
      .distinct()
      .where('repository', '=', repository)
      .execute();
    return rows.map((r) => r.gun);
  }

  /**
   * Stores new files and, when a timestamp is among them, an `update` change; the caller runs
   * this inside a write transaction. A version stored already violates the unique key.
   */
  async add(files: TrustFileRecord[]): Promise<void> {
    if (files.length === 0) return;
    await this.db
      .insertInto('trust_files')
      .values(
        files.map((f) => ({
          gun: f.gun,
          repository: f.repository,
          role: f.role,
          version: f.version,
          sha256: f.sha256,
          sha512: f.sha512,
          content: f.content,
          expires_at: f.expiresAt,
          created_at: f.createdAt,
        })),
      )
      .execute();
    const timestamp = files.find((f) => f.role === 'timestamp');
    if (timestamp)
      await this.addChange(timestamp.gun, timestamp.version, timestamp.sha256, 'update');
  }

  /** Deletes every file and key of `gun` and records a `deletion`; true when there was any. */
  async deleteGun(gun: string, at: number): Promise<boolean> {
    const deleted = await this.db
      .deleteFrom('trust_files')
      .where('gun', '=', gun)
      .executeTakeFirst();
    await this.db.deleteFrom('trust_keys').where('gun', '=', gun).execute();
    const any = Number(deleted.numDeletedRows) > 0;
    if (any) await this.addChange(gun, 0, '', 'deletion', at);
    return any;
  }

  private async addChange(
    gun: string,
    version: number,
    sha256: string,
    category: 'update' | 'deletion',
    at = Date.now(),
  ): Promise<void> {
    await this.db
      .insertInto('trust_changes')
      .values({ gun, version, sha256, category, created_at: at })
      .execute();
  }

  /**
   * Changes after `fromId` (0: from the start), oldest first, or — when `reverse` — changes
   * before `fromId` (-1: from the newest), newest first; at most `limit`.
   */
  async changes(
    gun: string | undefined,
    fromId: number,
    limit: number,
    reverse: boolean,
  ): Promise<TrustChangeRecord[]> {
    let query = this.db.selectFrom('trust_changes').selectAll();
    if (gun !== undefined) query = query.where('gun', '=', gun);
    if (reverse) {
      if (fromId > 0) query = query.where('id', '<', fromId);
      query = query.orderBy('id', 'desc');
    } else {
      query = query.where('id', '>', Math.max(0, fromId)).orderBy('id', 'asc');
    }
    const rows = await query.limit(limit).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      gun: r.gun,
      version: Number(r.version),
      sha256: r.sha256,
      category: r.category === 'deletion' ? 'deletion' : 'update',
      createdAt: Number(r.created_at),
    }));
  }

  /** The server-held keys of `gun`'s `role`, newest first. */
  async keys(gun: string, role: string): Promise<TrustKeyRecord[]> {
    const rows = await this.db
      .selectFrom('trust_keys')
      .selectAll()
      .where('gun', '=', gun)
      .where('role', '=', role)
      .orderBy('id', 'desc')
      .execute();
    return rows.map((r) => ({
      gun: r.gun,
      role: r.role,
      keyId: r.key_id,
      algorithm: r.algorithm,
      publicKey: r.public_key,
      privateKey: r.private_key,
      createdAt: Number(r.created_at),
    }));
  }

  /** Stores a new server-held key. */
  async addKey(key: TrustKeyRecord): Promise<void> {
    await this.db
      .insertInto('trust_keys')
      .values({
        gun: key.gun,
        role: key.role,
        key_id: key.keyId,
        algorithm: key.algorithm,
        public_key: key.publicKey,
        private_key: key.privateKey,
        created_at: key.createdAt,
      })
      .execute();
  }

  /** Every signed-tags requirement. */
  async policies(): Promise<TrustPolicyRecord[]> {
    const rows = await this.db.selectFrom('trust_policies').selectAll().orderBy('scope').execute();
    return rows.map((r) => ({
      scope: r.scope,
      signers: JSON.parse(r.signers) as string[],
      createdBy: r.created_by,
      createdAt: Number(r.created_at),
      mode: r.mode as TrustPolicyRecord['mode'],
      kinds: JSON.parse(r.kinds) as TrustPolicyRecord['kinds'],
      threshold: r.threshold === null ? null : Number(r.threshold),
    }));
  }

  /** Sets (or replaces) the requirement on `policy.scope`. */
  async setPolicy(policy: TrustPolicyRecord): Promise<void> {
    const values = {
      scope: policy.scope,
      signers: JSON.stringify(policy.signers),
      created_by: policy.createdBy,
      created_at: policy.createdAt,
      mode: policy.mode,
      kinds: JSON.stringify(policy.kinds),
      threshold: policy.threshold,
    };
    await this.db
      .insertInto('trust_policies')
      .values(values)
      .onConflict((oc) => oc.column('scope').doUpdateSet(values))
      .execute();
  }

  /** Removes the requirement on `scope`; true when there was one. */
  async removePolicy(scope: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('trust_policies')
      .where('scope', '=', scope)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
