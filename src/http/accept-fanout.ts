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
import { spawn } from 'node:child_process';
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

/**
 * Watches `copies` duplicates of `server`'s listening socket, each handing the connections it
 * accepts to `server` as its own (the same connection guards, timeouts and TLS). Resolves once
 * all are listening; with `copies` 0 does nothing.
 */
export async function fanOutAccepts(
  server: net.Server,
  copies: number,
  backlog: number,
): Promise<AcceptFanout> {
  const listeners: net.Server[] = [];
  const close = (): void => {
    for (const l of listeners) l.close();
  };
  const native = (server as net.Server & { _handle?: unknown })._handle;
  if (copies <= 0 || !native) return { copies: 0, close };
  const helper = spawn(process.execPath, ['-e', HELPER], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    helper.once('error', reject);
    helper.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the accept helper exited with ${code}`));
    });
    // The channel ends after the last message it carried was read.
    helper.once('disconnect', () => {
      if (listeners.length < copies)
        reject(new Error(`the accept helper passed ${listeners.length} of ${copies} copies`));
    });
    helper.on('message', (_m, handle) => {
      const copy = net.createServer({ noDelay: true }, (socket) =>
        server.emit('connection', socket),
      );
      copy.on('error', (err) => server.emit('error', err));
      copy.listen(handle as net.Server, backlog);
      listeners.push(copy);
      if (listeners.length === copies) {
        helper.send('done');
        resolve();
      }
    });
    // The listener's native handle, not the server: a server sent over IPC would listen (and
    // accept) in the helper too.
    helper.send({ copies }, native as net.Server);
  }).catch((err: unknown) => {
    close();
    helper.kill();
    throw err;
  });
  return { copies, close };
}
