/**
 * Closing a composed Berth (what every CLI command that opens the data directory does, and
 * `berth serve` at shutdown): the outbox is drained to its consumers, and no background worker
 * the drain wakes (replication, builds, webhooks) touches the database after it is closed.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { composeBerth } from '../../src/cli/index.js';
import { freshPostgresUrl, dropPostgres } from '../helpers/in-process.js';
import { removeDir, tempDir } from '../helpers/server.js';

/** A warn-level pino logger that keeps its lines. */
function keptLogger() {
  const lines: { level: number; msg: string; err?: { message: string } }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
}

it('closes with pushes still in the outbox and logs nothing after the database is gone', async () => {
  for (let round = 0; round < 5; round++) {
    const data = tempDir('compose-close');
    const url = await freshPostgresUrl();
    const { logger, lines } = keptLogger();
    const config = loadConfig({
      env: {},
      overrides: {
        data,
        ...(url ? { database: { url, pool: 4 } } : {}),
        // With accounts the build runner and the control plane run too.
        auth: { mode: round % 2 ? 'token' : 'none' },
      },
    });
    const berth = await composeBerth(config, logger);
    try {
      // Events another process wrote: this one's drain at close hands them to every consumer,
      // and the replication consumer's wakes the replicator.
      await berth.meta.writeTransaction((tx) =>
        tx.outbox.appendMany(
          ['v1', 'v2', 'v3'].map((tag) => ({
            at: Date.now(),
            type: 'manifest.pushed',
            repository: 'closing/app',
            actor: { name: 'other-process' },
            target: { tag, digest: `sha256:${'a'.repeat(64)}` },
            outcome: 'success' as const,
          })),
        ),
      );
    } finally {
      await berth.close();
    }
    // Whatever a worker woken at close would do runs within a few event-loop turns.
    for (let turn = 0; turn < 20; turn++) await sleep(5);
    removeDir(data);
    if (url) await dropPostgres(url);
    assert.deepEqual(
      lines.map((l) => `${l.msg}: ${l.err?.message ?? ''}`),
      [],
      `round ${round}`,
    );
  }
});
