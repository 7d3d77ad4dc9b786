/**
 * Rebuilding when a base image changes (opt-in): a build notes the images in this registry its
 * Dockerfile starts `FROM`; a push of a new digest to one of them queues the last successful
 * build of each ref that used it again, through an outbox consumer (exactly once per push).
 */
import type { Meta, OutboxEvent } from '../meta/index.js';
import { queueBuilds } from './queueing.js';

/**
 * The `repository:tag` of each `FROM` image of `dockerfile` that lives in this registry (named by
 * one of `hosts`), skipping stage names, digests and other registries' images.
 */
export function baseImagesOf(dockerfile: string, hosts: string[]): string[] {
  const stages = new Set<string>();
  const out = new Set<string>();
  for (const raw of dockerfile.split('\n')) {
    const m = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(raw);
    if (!m) continue;
    const image = m[1]!;
    if (m[2]) stages.add(m[2].toLowerCase());
    if (stages.has(image.toLowerCase()) || image.includes('@') || image.includes('$')) continue;
    const host = hosts.find((h) => image.startsWith(`${h}/`));
    if (!host) continue;
    const rest = image.slice(host.length + 1);
    const colon = rest.lastIndexOf(':');
    out.add(colon > rest.lastIndexOf('/') ? rest : `${rest}:latest`);
  }
  return [...out];
}

/** The outbox handler that queues rebuilds for pushes to base images. */
export function baseImageRebuilds() {
  return async (tx: Meta, events: OutboxEvent[]): Promise<void> => {
    const pushed = events
      .filter((e) => e.type === 'manifest.pushed' && e.outcome === 'success')
      .map((e) => ({ repository: e.repository, tag: (e.target as { tag?: string }).tag }))
      .filter((p): p is { repository: string; tag: string } => !!p.repository && !!p.tag);
    if (pushed.length === 0) return;
    const configs = await tx.builds.rebuildingOnBase();
    for (const config of configs) {
      const changed = new Set(
        pushed
          .filter((p) => p.repository !== config.repository)
          .map((p) => `${p.repository}:${p.tag}`),
      );
      if (changed.size === 0) continue;
      const again = (await tx.builds.lastSucceeded(config.id)).filter((b) =>
        b.bases.some((base) => changed.has(base)),
      );
      if (again.length > 0)
        await queueBuilds(
          tx,
          config,
          again.map((b) => ({ ref: b.ref, commit: b.commit, message: '' })),
          { kind: 'base' },
        );
    }
  };
}
