/**
 * Buffers whose memory starts on a block boundary, as reads and writes of a file opened with
 * `O_DIRECT` need (address, file offset and length aligned to the device's block). Node 20 cannot
 * allocate them nor tell a Buffer's address, so the direct I/O addon (direct-io-addon.ts) says how
 * far a buffer lies past a boundary and the buffer is cut from there.
 */
import { directIoAddon } from './direct-io-addon.js';

/** The alignment direct I/O uses: 4 KiB covers 512-byte and 4K-sector devices and the page size. */
export const DIRECT_ALIGNMENT = 4096;

/** Whether aligned buffers can be had here (the addon was built). */
export function alignedBuffersAvailable(): boolean {
  return directIoAddon() !== undefined;
}

/**
 * A new buffer of `size` bytes whose first byte is on an `alignment` boundary (contents
 * undefined); undefined without the addon.
 */
export function alignedBuffer(size: number, alignment = DIRECT_ALIGNMENT): Buffer | undefined {
  const native = directIoAddon();
  if (!native) return undefined;
  const backing = Buffer.allocUnsafeSlow(size + alignment);
  const past = native.misalignment(backing, alignment);
  if (past < 0) return undefined;
  const skip = past === 0 ? 0 : alignment - past;
  return backing.subarray(skip, skip + size);
}

/** Whether `buffer` starts on an `alignment` boundary and is a whole number of blocks long. */
export function isAligned(buffer: Buffer, alignment = DIRECT_ALIGNMENT): boolean {
  return (
    buffer.byteLength % alignment === 0 && directIoAddon()?.misalignment(buffer, alignment) === 0
  );
}
