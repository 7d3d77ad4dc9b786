/**
 * Berth's files are its user's alone: the process creates files 0600 and folders 0700, and an
 * installation made before (data directory readable by others) is tightened on start.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function tighten(entry: string): void {
  const info = lstatSync(entry);
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    if ((info.mode & 0o777) !== 0o700) chmodSync(entry, 0o700);
    for (const name of readdirSync(entry)) tighten(path.join(entry, name));
  } else if ((info.mode & 0o077) !== 0) {
    chmodSync(entry, info.mode & 0o700);
  }
}

/**
 * Sets the umask to 077 and makes sure each of `dirs` exists with mode 0700; one that others
 * could read is tightened with everything under it (files lose their group and other bits).
 */
export function secureDataDirectories(dirs: string[]): void {
  process.umask(0o077);
  for (const dir of dirs) {
    let mode: number;
    try {
      mode = statSync(dir).mode;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      continue;
    }
    if ((mode & 0o077) !== 0) tighten(dir);
  }
}
