/**
 * Copies of the listening socket: Node's event loop takes one new connection per listening
 * descriptor and turn, so a burst of connections waiting in the kernel's queue is taken in as
 * many turns as it has connections; with the copies Berth watches, in a few.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { describe, it } from 'node:test';
import { fanOutAccepts, fanOutWhenBusy } from '../../src/http/index.js';

const BURST = 300;

/** Opens `BURST` connections to `port` from another process, waiting for each handshake. */
const CONNECT = `
const net = require('node:net');
let open = 0;
const sockets = [];
for (let i = 0; i < ${BURST}; i++) {
  const s = net.connect(Number(process.argv[1]), '127.0.0.1', () => {
    open += 1;
    if (open === ${BURST}) process.exit(0);
  });
  s.on('error', (e) => { console.error(e.message); process.exit(1); });
  sockets.push(s);
}
`;

/** Turns of the event loop the server needs to accept a burst queued while it was blocked. */
async function turnsToAcceptBurst(copies: number): Promise<{ turns: number; used: number }> {
  const server = net.createServer();
  let accepted = 0;
  server.on('connection', (socket) => {
    accepted += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) =>
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, resolve),
  );
  const fanout = await fanOutAccepts(server, copies, 1024);
  try {
    const port = (server.address() as net.AddressInfo).port;
    // The event loop is blocked while the other process connects: the kernel completes every
    // handshake and queues the connections for accept.
    const run = spawnSync(process.execPath, ['-e', CONNECT, String(port)], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    let turns = 0;
    await new Promise<void>((resolve) => {
      const turn = (): void => {
        turns += 1;
        if (accepted >= BURST) resolve();
        else setImmediate(turn);
      };
      setImmediate(turn);
    });
    return { turns, used: fanout.copies };
  } finally {
    fanout.close();
    await new Promise((r) => server.close(r));
  }
}

describe('copies of the listening socket', () => {
  it('take a queued burst of connections in a few turns of the event loop, not one turn each', async () => {
    const alone = await turnsToAcceptBurst(0);
    const fanned = await turnsToAcceptBurst(64);
    assert.equal(fanned.used, 64);
    // Alone, the listener takes one connection a turn (Node 20's libuv); with 64 copies the
    // burst takes a handful of turns.
    assert.ok(alone.turns >= BURST / 2, `alone: ${alone.turns} turns`);
    assert.ok(fanned.turns <= BURST / 10, `with copies: ${fanned.turns} turns`);
  });

  it('does nothing with no copies asked for', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fanout = await fanOutAccepts(server, 0, 511);
    assert.equal(fanout.copies, 0);
    fanout.close();
    await new Promise((r) => server.close(r));
  });

  it('are made only once the server first holds many connections at once', async () => {
    const server = net.createServer();
    const held: net.Socket[] = [];
    let seen = 0;
    server.on('connection', () => (seen += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const failures: unknown[] = [];
    const fanout = fanOutWhenBusy(server, 8, 511, (err) => failures.push(err), 5);
    /** Opens `n` connections and waits until the server has taken them all. */
    const connect = async (n: number): Promise<void> => {
      const target = seen + n;
      for (let i = 0; i < n; i += 1) held.push(net.connect(port, '127.0.0.1'));
      while (seen < target) await new Promise((r) => setImmediate(r));
    };
    try {
      // Four open, then closed, then four again: never five at once, so no helper is started.
      await connect(4);
      for (const s of held.splice(0)) s.destroy();
      while (
        (await new Promise<number>((r, j) => server.getConnections((e, c) => (e ? j(e) : r(c))))) >
        0
      )
        await new Promise((r) => setImmediate(r));
      await connect(4);
      assert.equal(fanout.making, false);
      // The fifth open connection asks for the copies; they are in place once the helper is done.
      await connect(1);
      assert.equal(fanout.making, true);
      while (fanout.copies === 0 && failures.length === 0)
        await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(failures, []);
      assert.equal(fanout.copies, 8);
    } finally {
      fanout.close();
      for (const s of held) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
