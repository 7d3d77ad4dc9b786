/** podman with its own storage under a test folder (vfs, file events, cgroupfs: no system state). */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * A short run folder: podman refuses a runroot longer than 50 characters, and the test run's
 * temporary folder is deeper than that. One per store, removed when the test process exits.
 */
const runRoots = new Map<string, string>();
function shortRunRoot(store: string): string {
  let dir = runRoots.get(store);
  if (!dir) {
    const made = mkdtempSync('/tmp/bpr-');
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    runRoots.set(store, made);
    dir = made;
  }
  return dir;
}

/** The global flags that keep podman inside `store`. */
export function podmanFlags(store: string): string[] {
  return [
    '--root',
    path.join(store, 'root'),
    '--runroot',
    shortRunRoot(store),
    '--storage-driver',
    'vfs',
    '--events-backend',
    'file',
    '--cgroup-manager',
    'cgroupfs',
  ];
}
