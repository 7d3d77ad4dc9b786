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

/** A started helper process, and how it failed if it did. */
interface AcceptHelper {
  child: ChildProcess;
  failure?: Error;
}

/** Starts the helper. */
function startAcceptHelper(): AcceptHelper {
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

/**
 * Watches `copies` duplicates of `server`'s listening socket, each handing the connections it
 * accepts to `server` as its own (the same connection guards, timeouts and TLS). Resolves once
 * all are listening; with `copies` 0 does nothing. Call it once the server answers: the helper's
 * start (a process fork and a whole Node start-up, 100–200 ms of CPU) then takes no CPU from
 * Berth's own start on a two-core machine (started beside it, it delayed the first answer by
 * about 40 ms); until its copies are in place the listener alone accepts.
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
  const helper = startAcceptHelper();
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

/** Open connections at which `fanOutWhenBusy` makes the copies. */
export const BUSY_CONNECTIONS = 64;

/**
 * Fans out (as `fanOutAccepts`) once `server` first holds `busyAt` open connections: a burst only
 * waits in the kernel's queue when the event loop is busy with many clients, and a registry that
 * never has that many starts no helper at all. `failed` hears why copies could not be made (the
 * listener alone accepts then, as without them). `close` stops the copies, or their making;
 * `making` says the copies were asked for, `copies` how many are accepting.
 */
export function fanOutWhenBusy(
  server: net.Server,
  copies: number,
  backlog: number,
  failed: (err: unknown) => void,
  busyAt = BUSY_CONNECTIONS,
): { close(): void; readonly making: boolean; readonly copies: number } {
  let closed = false;
  let making = false;
  let made: AcceptFanout | undefined;
  let open = 0;
  const onConnection = (socket: net.Socket): void => {
    open += 1;
    socket.once('close', () => (open -= 1));
    if (open < busyAt) return;
    server.off('connection', onConnection);
    making = true;
    fanOutAccepts(server, copies, backlog).then((fanout) => {
      made = fanout;
      if (closed) fanout.close();
    }, failed);
  };
  if (copies > 0) server.on('connection', onConnection);
  return {
    close() {
      closed = true;
      server.off('connection', onConnection);
      made?.close();
    },
    get making() {
      return making;
    },
    get copies() {
      return made?.copies ?? 0;
    },
  };
}
