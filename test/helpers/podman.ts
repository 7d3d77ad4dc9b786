/** podman with its own storage under a test folder (vfs, file events, cgroupfs: no system state). */
import path from 'node:path';

/** The global flags that keep podman inside `store`. */
export function podmanFlags(store: string): string[] {
  return [
    '--root',
    path.join(store, 'root'),
    '--runroot',
    path.join(store, 'run'),
    '--storage-driver',
    'vfs',
    '--events-backend',
    'file',
    '--cgroup-manager',
    'cgroupfs',
  ];
}
