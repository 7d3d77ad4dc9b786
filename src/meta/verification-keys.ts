/** Keys that verify cosign signatures and certificates that anchor Notation ones, per scope. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A stored verification key. */
export interface VerificationKeyRecord {
  id: number;
  /** A repository (`acme/app`) or a namespace (`acme/`). */
  scope: string;
  /** `cosign` (a public key) or `notation` (a trust-store certificate). */
  kind: 'cosign' | 'notation';
  /** The signer name requirements know it by. */
  name: string;
  /** PEM. */
  material: string;
  createdBy: string | null;
  createdAt: number;
}

/** Reads and writes verification keys. */
export class VerificationKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every key, oldest first. */
  async list(): Promise<VerificationKeyRecord[]> {
    const rows = await this.db.selectFrom('verification_keys').selectAll().orderBy('id').execute();
    return rows.map((r) => ({
      id: Number(r.id),
      scope: r.scope,
      kind: r.kind as VerificationKeyRecord['kind'],
      name: r.name,
      material: r.material,
      createdBy: r.created_by,
      createdAt: Number(r.created_at),
    }));
  }

  /** Adds a key; its id (CONFLICT-worthy duplicates surface as a database error). */
  async add(key: Omit<VerificationKeyRecord, 'id'>): Promise<number> {
    const row = await this.db
      .insertInto('verification_keys')
      .values({
        scope: key.scope,
        kind: key.kind,
        name: key.name,
        material: key.material,
        created_by: key.createdBy,
        created_at: key.createdAt,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Removes key `id`; false when there was none. */
  async remove(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('verification_keys').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** A number that changes whenever keys are added or removed. */
  async version(): Promise<string> {
    const row = await this.db
      .selectFrom('verification_keys')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('id').as('top')])
      .executeTakeFirst();
    return `${String(row?.n ?? 0)}:${String(row?.top ?? 0)}`;
  }
}
