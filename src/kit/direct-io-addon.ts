/**
 * The small native addon for file I/O Node 20 cannot ask for (`native/direct-io.c`, built by
 * `npm ci` with node-gyp): a Buffer's alignment, for `O_DIRECT` writes and reads, and how much
 * of a file the page cache holds. Without it (no C compiler at install) callers fall back to plain I/O.
 */
import { closeSync, openSync } from 'node:fs';
import { nativeAddon } from './native-addon.js';

/** What the addon offers. */
export interface DirectIoAddon {
  /** How far `buffer`'s first byte lies past an `alignment` boundary (0: aligned). */
  misalignment(buffer: Buffer, alignment: number): number;
  /**
   * How many pages of the file's byte range the page cache holds (cachestat(2), Linux 6.5+), or
   * minus the error number (-ENOSYS on older kernels).
   */
  cachedPages(fd: number, offset: number, length: number): number;
}

/** The addon, or undefined when it was not built. Looked up once. */
export const directIoAddon = nativeAddon<DirectIoAddon>('direct_io');

/**
 * How many pages of `file` the page cache holds (cachestat(2)); undefined without the addon or
 * where the kernel cannot tell.
 */
export function pagesCached(file: string): number | undefined {
  const native = directIoAddon();
  if (!native) return undefined;
  const fd = openSync(file, 'r');
  try {
    const pages = native.cachedPages(fd, 0, 0); // length 0: to the end of the file
    return pages >= 0 ? pages : undefined;
  } finally {
    closeSync(fd);
  }
}
