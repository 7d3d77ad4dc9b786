/** The outbox: events appended inside the transactions of the changes they record, read in order. */
import type { Insertable, Kysely } from 'kysely';
import type { Database, EventsTable } from './schema.js';

/** An event as the outbox stores it (actor and target are JSON objects). */
export interface OutboxEvent {
  id: number;
  at: number;
  type: string;
  repository: string | null;
  actor: Record<string, unknown>;
  target: Record<string, unknown>;
  outcome: 'success' | 'failure' | 'denied';
}

/** The `events` row that stores `event` (actor and target as JSON text). */
export function eventRow(event: Omit<OutboxEvent, 'id'>): Insertable<EventsTable> {
  return {
    at: event.at,
    type: event.type,
    repository: event.repository,
    actor: JSON.stringify(event.actor),
    target: JSON.stringify(event.target),
    outcome: event.outcome,
  };
}

/** Reads and writes the outbox and its consumers' cursors. */
export class OutboxStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Appends `event`; call it inside the write transaction of the change it records. */
  async append(event: Omit<OutboxEvent, 'id'>): Promise<void> {
    await this.appendMany([event]);
  }

  /** Appends `events` in order, a few hundred rows a statement (pull events come in batches). */
  async appendMany(events: Omit<OutboxEvent, 'id'>[]): Promise<void> {
    for (let i = 0; i < events.length; i += 500)
      await this.db
        .insertInto('events')
        .values(events.slice(i, i + 500).map(eventRow))
        .execute();
  }

  /** Up to `limit` events after id `after`, oldest first. */
  async after(after: number, limit: number): Promise<OutboxEvent[]> {
    const rows = await this.db
      .selectFrom('events')
      .select(['id', 'at', 'type', 'repository', 'actor', 'target', 'outcome'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      type: r.type,
      repository: r.repository,
      actor: JSON.parse(r.actor) as Record<string, unknown>,
      target: JSON.parse(r.target) as Record<string, unknown>,
      outcome: r.outcome === 'failure' ? 'failure' : r.outcome === 'denied' ? 'denied' : 'success',
    }));
  }

  /** The id of the newest event (0 when there is none). */
  async latest(): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  /** The id of the last event each of `consumers` has handled (0 before it handled any). */
  async cursors(consumers: string[]): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('event_cursors')
      .select(['consumer', 'last_id'])
      .where('consumer', 'in', consumers)
      .execute();
    const found = new Map(rows.map((r) => [r.consumer, Number(r.last_id)]));
    return new Map(consumers.map((c) => [c, found.get(c) ?? 0]));
  }

  /** Records, in one statement, that each consumer has handled every event up to its id. */
  async advanceEach(cursors: Map<string, number>): Promise<void> {
    if (cursors.size === 0) return;
    const now = Date.now();
    await this.db
      .insertInto('event_cursors')
      .values([...cursors].map(([consumer, id]) => ({ consumer, last_id: id, updated_at: now })))
      .onConflict((oc) =>
        oc.column('consumer').doUpdateSet((eb) => ({
          last_id: eb.ref('excluded.last_id'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }

  /** The id of the last event `consumer` has handled (0 before it handled any). */
  async cursor(consumer: string): Promise<number> {
    return (await this.cursors([consumer])).get(consumer)!;
  }

  /** Records that `consumer` has handled every event up to `id`. */
  async advance(consumer: string, id: number): Promise<void> {
    await this.advanceEach(new Map([[consumer, id]]));
  }

  /**
   * Deletes events made before `before` (ms) that every consumer has handled; returns how many.
   * Consumers that never ran hold nothing back.
   */
  async prune(before: number): Promise<number> {
    const handled = await this.db
      .selectFrom('event_cursors')
      .select((eb) => eb.fn.min('last_id').as('id'))
      .executeTakeFirst();
    if (handled?.id === null || handled?.id === undefined) return 0;
    const result = await this.db
      .deleteFrom('events')
      .where('id', '<=', Number(handled.id))
      .where('at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
