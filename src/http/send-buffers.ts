/**
 * The buffers blob files are sent through, shared by all requests (a `BufferPool`): each 256 KiB,
 * taken for one read and given back once the socket has taken its bytes. Per-request buffers (four 1 MiB each, made
 * for every download and dropped after it) left tens of MiB of dead buffers waiting for a full
 * collection after a burst of pulls; reused ones make no garbage at all.
 */
import { BufferPool } from '../kit/index.js';

/**
 * The process's pool for sending blob files: 256 KiB buffers, sixteen kept at most (4 MiB; with
 * 1 MiB buffers eight parallel pulls kept 16 MiB for good, at the same download rates).
 */
export const sendBuffers = new BufferPool(1 << 18, 16);
