/**
 * Zero-copy sends: cached bytes of a blob file handed from the page cache to a plain (not TLS)
 * connection with sendfile(2), through the small addon `native/send-file.c` (Node 20 has no
 * sendfile of its own). Nothing here waits on the socket: a send stops when the socket is full,
 * and the sender (file-sender.ts) waits for it to drain through Node's own writes, so Node's
 * timeouts, back-pressure and closing rules still hold for the connection.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { nativeAddon } from '../kit/index.js';

interface SendFileAddon {
  /** Bytes sent (> 0), 0 at the file's end, or minus the error number (-EAGAIN: socket full). */
  sendFile(socketFd: number, fileFd: number, offset: number, length: number): number;
}

const sendFileAddon = nativeAddon<SendFileAddon>('send_file');

/**
 * What one zero-copy send did: bytes sent, or why none were (the socket is full, the file ended,
 * the connection is closed, or the send failed).
 */
export type ZeroCopyResult = number | 'full' | 'ended' | 'closed' | 'failed';

/** Whether zero-copy sends are allowed at all (`storage.sendfile`). */
let allowed = true;

/** Allows or forbids zero-copy sends for the whole process (`storage.sendfile`). */
export function allowZeroCopySends(allow: boolean): void {
  allowed = allow;
}

/** Whether the addon is built (zero-copy sends also need cachestat(2), Linux 6.5+). */
export function zeroCopyAvailable(): boolean {
  return sendFileAddon() !== undefined;
}

/** Bytes sent zero-copy by this process (for tests and the curious). */
let bytesSentZeroCopy = 0;

/** How many bytes this process has sent with sendfile(2) so far. */
export function zeroCopyBytes(): number {
  return bytesSentZeroCopy;
}

/** The descriptor `socket` holds now, or undefined (none, or closed). */
function descriptorOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Sends file bytes straight to one response's connection. */
export class ZeroCopySocket {
  constructor(
    private readonly res: ServerResponse,
    private readonly socket: Socket,
    private readonly fd: number,
    private readonly addon: SendFileAddon,
  ) {}

  /** Whether every byte written to the response before has reached the kernel. */
  drained(): boolean {
    return this.res.writableLength === 0 && this.socket.writableLength === 0;
  }

  /**
   * Sends up to `length` bytes of the open file `fileFd` from `position`, until the socket is
   * full. Call only when `drained()`. A send keeps the connection's idle timer alive as a write
   * through Node would.
   */
  send(fileFd: number, position: number, length: number): ZeroCopyResult {
    // A destroyed connection's descriptor is closed at once (its 'close' events come later) and
    // its number goes to the next file or connection opened: send only through a descriptor the
    // connection still holds, checked in the same synchronous step as the send.
    if (this.socket.destroyed || descriptorOf(this.socket) !== this.fd) return 'closed';
    const sent = this.addon.sendFile(this.fd, fileFd, position, length);
    if (sent > 0) {
      bytesSentZeroCopy += sent;
      const timeout = this.socket.timeout;
      if (timeout !== undefined && timeout > 0) this.socket.setTimeout(timeout);
      return sent;
    }
    if (sent === 0) return 'ended';
    return sent === -constants.errno.EAGAIN ? 'full' : 'failed';
  }
}

/**
 * Zero-copy sends to `res`'s connection, or undefined where they cannot be made: turned off, no
 * addon, a TLS connection (the kernel would send the bytes unencrypted), no socket of its own yet,
 * a head not yet written (`writeHead`) or a body sent in chunks (no Content-Length).
 */
export function zeroCopyTo(res: ServerResponse): ZeroCopySocket | undefined {
  const addon = sendFileAddon();
  const socket = res.socket as (Socket & { encrypted?: boolean }) | null;
  if (!allowed || !addon || !socket || socket.encrypted || socket.destroyed) return undefined;
  // Bytes sent around Node must be the body as is: the head decided, without chunked framing.
  const framing = res as ServerResponse & { chunkedEncoding?: boolean };
  if (!res.headersSent || framing.chunkedEncoding !== false) return undefined;
  const fd = descriptorOf(socket);
  if (fd === undefined) return undefined;
  return new ZeroCopySocket(res, socket, fd, addon);
}
