/**
 * Closing a connection whose request body is still arriving without losing the answer.
 *
 * When an error is answered before the body is read, the connection cannot be reused (the rest
 * of the body would be taken for the next request), so the answer says `Connection: close` and
 * Node ends the socket with `destroySoon` right after writing it. Bytes the client is still
 * sending then meet a closed socket: the kernel answers them with a reset, and a reset can
 * discard the answer before the client reads it — a client sees "broken pipe" or "connection
 * reset" instead of the registry's error. Like nginx's lingering close, the rest of the body is
 * read and discarded after the answer; the connection is closed (flushed, then destroyed) once
 * the body is complete or the client closes its side, and destroyed when 30 s pass (the
 * bound on what an unending body can cost). No FIN goes out before that: a client that stops
 * writing when the server's side ends (Node's sockets do) would otherwise fail the same way.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

const LINGERING = Symbol('berth.lingering');

type LingeringSocket = Socket & { destroySoon?: () => void; [LINGERING]?: true };

/** How long a closing connection may keep reading a refused body at most. */
const LINGER_MS = 30_000;

/**
 * Makes the end of `req`'s connection, after its answer, a lingering close (see the module
 * comment). Safe to call more than once; a request whose body is complete needs none.
 */
export function lingerOnClose(req: IncomingMessage): void {
  const socket = req.socket as LingeringSocket | null;
  if (!socket || req.complete || socket[LINGERING] || typeof socket.destroySoon !== 'function')
    return;
  socket[LINGERING] = true;
  const closeNow = socket.destroySoon.bind(socket);
  socket.destroySoon = function lingeringClose(this: LingeringSocket): void {
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      closeNow();
    };
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('end', close);
    this.once('close', () => clearTimeout(timer));
    // Node dumps the unread body once the answer is written; its end is the natural close.
    if (req.complete) close();
    else req.once('end', close);
  };
}
