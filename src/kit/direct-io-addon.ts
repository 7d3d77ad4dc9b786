/**
 * The small native addon for file I/O Node 20 cannot ask for (`native/direct-io.c`, built by
 * `npm ci` with node-gyp): a Buffer's alignment, for `O_DIRECT` writes and reads, and how much
 * of a file the page cache holds. Without it (no C compiler at install) callers fall back to plain I/O.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from './package-root.js';

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

/** The addon: undefined until first asked for, null when it was not built. */
let addon: DirectIoAddon | null | undefined;

/** The addon, or undefined when it was not built. Looked up once. */
export function directIoAddon(): DirectIoAddon | undefined {
  if (addon === undefined) {
    try {
      const require = createRequire(path.join(packageRoot(), 'package.json'));
      addon = require(
        path.join(packageRoot(), 'build', 'Release', 'direct_io.node'),
      ) as DirectIoAddon;
    } catch {
      addon = null;
    }
  }
  return addon ?? undefined;
}
