/**
 * Moving all metadata between databases (the embedded SQLite to PostgreSQL, say): every table in
 * dependency order as JSON lines, bytes as base64, loaded in one transaction on the other side.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Tables in an order that satisfies their foreign keys. */
export const TABLES = [
  'repositories',
  'blobs',
  'inline_blobs',
  'repository_blobs',
  'manifests',
  'manifest_blobs',
  'manifest_children',
  'tags',
  'uploads',
  'accounts',
  'org_members',
  'teams',
  'team_members',
  'grants',
  'access_tokens',
  'refresh_tokens',
  'signing_keys',
  'audit_log',
  'trust_files',
  'trust_keys',
  'trust_changes',
  'trust_policies',
  'retired_names',
  'events',
  'event_cursors',
  'webhooks',
  'webhook_deliveries',
  'webhook_attempts',
  'build_configs',
  'builds',
  'settings',
] as const satisfies readonly (keyof Database)[];

/** Tables with a generated integer `id`. */
const SERIAL = new Set([
  'repositories',
  'accounts',
  'teams',
  'grants',
  'access_tokens',
  'refresh_tokens',
  'audit_log',
  'trust_files',
  'trust_keys',
  'trust_changes',
  'events',
  'webhooks',
  'webhook_deliveries',
  'webhook_attempts',
  'build_configs',
  'builds',
]);

function encode(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row))
    out[k] = v instanceof Uint8Array ? { $b64: Buffer.from(v).toString('base64') } : v;
  return out;
}

function decode(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row))
    out[k] =
      v !== null && typeof v === 'object' && '$b64' in v
        ? Buffer.from(String((v as { $b64: string }).$b64), 'base64')
        : v;
  return out;
}

/** Rows of `inline_blobs` read at a time: up to 64 KiB each, so not the whole table at once. */
const INLINE_BLOBS_PAGE = 64;

/** The rows of `table`: all at once, except the small blobs' bytes, a page at a time by digest. */
async function* tableRows(
  db: Kysely<Database>,
  table: (typeof TABLES)[number],
): AsyncGenerator<Record<string, unknown>> {
  if (table !== 'inline_blobs') {
    yield* (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db)).rows;
    return;
  }
  let after = '';
  for (;;) {
    const page = await db
      .selectFrom('inline_blobs')
      .selectAll()
      .where('digest', '>', after)
      .orderBy('digest')
      .limit(INLINE_BLOBS_PAGE)
      .execute();
    yield* page;
    if (page.length < INLINE_BLOBS_PAGE) return;
    after = page[page.length - 1]!.digest;
  }
}

/** Every row of every table as JSON lines (a header line first). */
export async function* exportLines(db: Kysely<Database>): AsyncGenerator<string> {
  yield JSON.stringify({ berthExport: 1, tables: TABLES });
  for (const table of TABLES)
    for await (const row of tableRows(db, table))
      yield JSON.stringify({ t: table, r: encode(row) });
}

/**
 * Loads exported lines into `db`, which must hold no repositories or accounts yet, in one
 * transaction; then moves PostgreSQL sequences past the imported ids. Returns rows per table.
 */
export async function importLines(
  db: Kysely<Database>,
  lines: AsyncIterable<string>,
  dialect: 'sqlite' | 'postgres',
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  // Take the iterator now: a readline interface drops lines emitted before anyone iterates.
  const iterator = lines[Symbol.asyncIterator]();
  const rest = { [Symbol.asyncIterator]: () => iterator };
  await db.transaction().execute(async (trx) => {
    for (const table of ['repositories', 'accounts'] as const) {
      const n = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(
        trx,
      );
      if (Number(n.rows[0]?.n) > 0)
        throw new Error(`the target database already holds ${table}; import into an empty one`);
    }
    // The target's own first start may have made signing keys; the exported ones replace them.
    await sql`delete from signing_keys`.execute(trx);
    let header = true;
    let current = '';
    const batch = new Map<string, Record<string, unknown>[]>();
    const flush = async (table: string) => {
      const rows = batch.get(table);
      if (!rows || rows.length === 0) return;
      await trx
        .insertInto(table as keyof Database)
        .values(rows as never)
        .execute();
      batch.set(table, []);
    };
    for await (const line of rest) {
      if (line.trim() === '') continue;
      const parsed = JSON.parse(line) as {
        berthExport?: number;
        t?: string;
        r?: Record<string, unknown>;
      };
      if (header) {
        if (parsed.berthExport !== 1) throw new Error('not a Berth export (no header line)');
        header = false;
        continue;
      }
      if (!parsed.t || !(TABLES as readonly string[]).includes(parsed.t) || !parsed.r)
        throw new Error(`unexpected line in the export: ${line.slice(0, 100)}`);
      if (parsed.t !== current) {
        await flush(current);
        current = parsed.t;
      }
      const rows = batch.get(parsed.t) ?? [];
      rows.push(decode(parsed.r));
      batch.set(parsed.t, rows);
      counts[parsed.t] = (counts[parsed.t] ?? 0) + 1;
      if (rows.length >= (parsed.t === 'inline_blobs' ? INLINE_BLOBS_PAGE : 500))
        await flush(parsed.t);
    }
    for (const table of TABLES) await flush(table);
    if (dialect === 'postgres')
      for (const table of SERIAL)
        await sql`select setval(pg_get_serial_sequence(${table}, 'id'), coalesce((select max(id) from ${sql.table(table)}), 0) + 1, false)`.execute(
          trx,
        );
  });
  return counts;
}
