// Takes the pages of Node's executable that start-up touched out of Berth's resident set, through
// a small native addon (native/file-pages.c, built by `npm ci` with node-gyp): Node 20 has no
// call for `madvise`. Of the 30-40 MiB of the executable a start reads (the start-up snapshot,
// the built-in modules, code run once), a serving process reads about 10 MiB again idle, 16-25
// under load; the rest stays resident until the kernel is short of memory. Released, a page is
// read again from the page cache at its next use.
import { realpathSync } from 'node:fs';
import { nativeAddon } from './native-addon.js';

/** The addon, or undefined when it was not built (no compiler at install). Looked up once. */
const filePages = nativeAddon('file_pages');

/** The running Node executable's path as the kernel names its mappings. */
let executable;

/**
 * Drops the resident pages of Node's executable from this process's mappings (those it cannot
 * write and holds no private copy of; they stay in the page cache). Returns the bytes released:
 * 0 without the addon or off Linux.
 */
export function releaseExecutablePages() {
  const pages = filePages();
  if (!pages) return 0;
  executable ??= realpathSync(process.execPath);
  return pages.release(executable);
}
