/**
 * More than one new connection taken per turn of the event loop. Node's event loop (libuv 1.45
 * and later) accepts one connection per listening descriptor per turn; with a thousand busy
 * keep-alive clients a turn lasts a hundred milliseconds or more, so a burst of new connections
 * (clients reconnecting after a restart, a CI fleet starting) waits seconds in the kernel's queue
 * before its first request is read. Node 20 cannot open several listeners with SO_REUSEPORT, so
 * the listening socket is duplicated instead: a short-lived helper process is handed the
 * listener's descriptor and hands it back `copies` times (each passage over the IPC channel makes
 * a new descriptor for the same socket), and each copy is watched by the event loop and accepts
 * for the server. The helper only passes descriptors on: it never listens or accepts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** The helper: sends the descriptor it is given back `copies` times, and exits when told (or orphaned). */
const HELPER = `
process.on('message', (m, handle) => {
  if (m === 'done') process.exit(0);
  for (let i = 0; i < m.copies; i += 1) process.send('copy', handle);
});
process.on('disconnect', () => process.exit(0));
`;

/** The copies' listeners; `close` stops them accepting (the server's own listener is closed by it). */
export interface AcceptFanout {
  copies: number;
  close(): void;
}

/** A started helper process, waiting for the listener to copy, and how it failed if it did. */
export interface AcceptHelper {
  child: ChildProcess;
  failure?: Error;
}

/**
 * Starts the helper ahead of `fanOutAccepts`: its start (a process fork and a Node start-up) then
 * overlaps Berth's own instead of delaying the first answers. `discard` it if it goes unused.
 */
export function startAcceptHelper(): AcceptHelper {
  const child = spawn(process.execPath, ['-e', HELPER], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const helper: AcceptHelper = { child };
  child.on('error', (err) => (helper.failure ??= err));
  child.once('exit', (code, signal) => {
    if (code !== 0) helper.failure ??= new Error(`the accept helper exited with ${code ?? signal}`);
  });
  return helper;
}

/** Stops a helper that will not be used. */
export function discardAcceptHelper(helper: AcceptHelper | undefined): void {
  helper?.child.kill();
}

/**
 * Watches `copies` duplicates of `server`'s listening socket, each handing the connections it
 * accepts to `server` as its own (the same connection guards, timeouts and TLS). Resolves once
 * all are listening; with `copies` 0 does nothing. `started` is a helper from
 * `startAcceptHelper`; without one it is started here.
 */
export async function fanOutAccepts(
  server: net.Server,
  copies: number,
  backlog: number,
  started?: AcceptHelper,
): Promise<AcceptFanout> {
  const listeners: net.Server[] = [];
  const close = (): void => {
    for (const l of listeners) l.close();
  };
  const native = (server as net.Server & { _handle?: unknown })._handle;
  if (copies <= 0 || !native) {
    discardAcceptHelper(started);
    return { copies: 0, close };
  }
  const helper = started ?? startAcceptHelper();
  const child = helper.child;
  await new Promise<void>((resolve, reject) => {
    if (helper.failure) return reject(helper.failure);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code !== 0) reject(new Error(`the accept helper exited with ${code ?? signal}`));
    });
    // The channel ends after the last message it carried was read.
    child.once('disconnect', () => {
      if (listeners.length < copies)
        reject(new Error(`the accept helper passed ${listeners.length} of ${copies} copies`));
    });
    child.on('message', (_m, handle) => {
      const copy = net.createServer({ noDelay: true }, (socket) =>
        server.emit('connection', socket),
      );
      copy.on('error', (err) => server.emit('error', err));
      copy.listen(handle as net.Server, backlog);
      listeners.push(copy);
      if (listeners.length === copies) {
        child.send('done');
        resolve();
      }
    });
    // The listener's native handle, not the server: a server sent over IPC would listen (and
    // accept) in the helper too.
    child.send({ copies }, native as net.Server);
  }).catch((err: unknown) => {
    close();
    child.kill();
    throw err;
  });
  return { copies, close };
}
