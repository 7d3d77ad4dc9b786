import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { Meta, openSqliteDatabase, type OutboxEvent } from '../meta/index.js';
import { createLogger } from '../obs/index.js';
import { OutboxPump, type OutboxConsumer } from './outbox-pump.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-outbox-pump-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger('silent');

/** A database of its own, with its write transactions counted. */
async function database(name: string) {
  const opened = await openSqliteDatabase(path.join(dir, `${name}.db`));
  const meta = new Meta(opened.db);
  const counted = { transactions: 0 };
  const write = meta.writeTransaction.bind(meta);
  meta.writeTransaction = (work) => {
    counted.transactions += 1;
    return write(work);
  };
  const append = (n: number) =>
    write(async (tx) => {
      for (let i = 0; i < n; i += 1)
        await tx.outbox.append({
          at: Date.now(),
          type: 'manifest.pushed',
          repository: 'lib/app',
          actor: {},
          target: { n: i },
          outcome: 'success',
        });
    });
  return { meta, counted, append, close: () => opened.close() };
}

/**
 * A consumer recording the ids of the events it handled in transactions that committed (it is
 * told of them after each commit), and how often it was handed events at all.
 */
function recording(name: string, fail?: () => boolean) {
  const seen: number[] = [];
  let told = 0;
  const consumer: OutboxConsumer = {
    name,
    handle: async () => {
      if (fail?.()) throw new Error(`${name} is down`);
    },
    handled: (events: OutboxEvent[]) => {
      told += 1;
      seen.push(...events.map((e) => e.id));
    },
  };
  return { consumer, seen, told: () => told };
}

it('hands every consumer each event once, all of them in one write transaction', async () => {
  const db = await database('together');
  try {
    const pump = new OutboxPump(db.meta, logger);
    const consumers = ['audit', 'webhooks', 'replication'].map((n) => recording(n));
    for (const c of consumers) pump.add(c.consumer);
    await db.append(3);
    db.counted.transactions = 0;
    await pump.drain();
    assert.equal(db.counted.transactions, 1, 'one transaction for the three consumers');
    for (const c of consumers) {
      assert.deepEqual(c.seen, [1, 2, 3]);
      assert.equal(c.told(), 1);
    }
    // Nothing new: the first read finds that, and no write lock is taken.
    await pump.drain();
    assert.equal(db.counted.transactions, 1);
    const cursors = await db.meta.outbox.cursors(['audit', 'webhooks', 'replication']);
    assert.deepEqual([...cursors.values()], [3, 3, 3]);
    await pump.drain(true);
  } finally {
    await db.close();
  }
});

it('a failing consumer holds no other back, and gets its events once it works again', async () => {
  const db = await database('failing');
  try {
    const pump = new OutboxPump(db.meta, logger);
    let down = true;
    const audit = recording('audit');
    const webhooks = recording('webhooks', () => down);
    pump.add(audit.consumer);
    pump.add(webhooks.consumer);
    await db.append(2);
    await pump.drain();
    assert.deepEqual(audit.seen, [1, 2], 'handled in a transaction of its own');
    assert.deepEqual(webhooks.seen, []);
    assert.equal(webhooks.told(), 0);
    down = false;
    await db.append(1);
    await pump.drain();
    assert.deepEqual(webhooks.seen, [1, 2, 3], 'every event it missed, once');
    assert.deepEqual(audit.seen, [1, 2, 3], 'nothing twice');
    await pump.drain(true);
  } finally {
    await db.close();
  }
});

it('a consumer added later starts from its own cursor; batches go in order', async () => {
  const db = await database('later');
  try {
    const pump = new OutboxPump(db.meta, logger, { batch: 2 });
    const audit = recording('audit');
    pump.add(audit.consumer);
    await db.append(3);
    await pump.drain();
    const builds = recording('builds');
    pump.add(builds.consumer);
    await db.append(2);
    await pump.drain();
    assert.deepEqual(audit.seen, [1, 2, 3, 4, 5]);
    assert.deepEqual(builds.seen, [1, 2, 3, 4, 5], 'every event from before it was added too');
    await pump.drain(true);
  } finally {
    await db.close();
  }
});
