/**
 * Turning pushes into queued builds: each moved ref is planned against the configuration's rules
 * (skipping `[skip build]` commits and changes outside the path filters unless asked by hand), a
 * newer commit supersedes what is queued or running for the same ref, and every state change is
 * written with its event in one transaction.
 */
import type { EventType } from '../events/index.js';
import type { BuildConfigRecord, BuildRecord, Meta } from '../meta/index.js';
import type { PushedRef } from './provider-hooks.js';
import { planBuilds, skipsBuild, sourceRefOf, touchesPaths, type BuildRule } from './rules.js';

/** How a build was asked for. */
export type TriggerKind = 'webhook' | 'poll' | 'manual' | 'requeue' | 'base';

/** The build events. */
export type BuildEventType = Extract<EventType, `build.${string}`>;

/** Appends a build event about `build` to the outbox of `tx`. */
export function recordBuildEvent(
  tx: Meta,
  type: BuildEventType,
  build: Pick<BuildRecord, 'id' | 'repository' | 'ref' | 'commit' | 'plan'> & {
    digest?: string | null;
    error?: string | null;
  },
  actor: string | null = null,
): Promise<void> {
  const tags = (build.plan as { tags?: string[] }).tags ?? [];
  return tx.outbox.append({
    at: Date.now(),
    type,
    repository: build.repository,
    actor: { name: actor },
    target: {
      repository: build.repository,
      build: build.id,
      ref: build.ref,
      commit: build.commit,
      ...(tags[0] ? { tag: tags[0] } : {}),
      ...(build.digest ? { digest: build.digest } : {}),
      ...(build.error ? { reason: build.error } : {}),
    },
    outcome: type === 'build.failed' ? 'failure' : 'success',
  });
}

/** Cancels what is queued for `ref` and asks running builds of it to stop. */
async function supersede(tx: Meta, config: BuildConfigRecord, ref: string): Promise<void> {
  for (const older of await tx.builds.unfinished(config.id, ref)) {
    if (older.state === 'running') {
      await tx.builds.update(older.id, { cancelRequested: true });
      continue;
    }
    const error = 'superseded by a newer commit';
    await tx.builds.update(older.id, { state: 'cancelled', finishedAt: Date.now(), error });
    await recordBuildEvent(tx, 'build.cancelled', { ...older, error });
  }
}

/**
 * Queues the builds `refs` ask for under `config` (inside `tx`); returns their ids. `manual`
 * builds also run rules without autobuild and ignore `[skip build]` and path filters.
 */
export async function queueBuilds(
  tx: Meta,
  config: BuildConfigRecord,
  refs: PushedRef[],
  how: { kind: TriggerKind; defaultBranch?: string; actor?: string | null },
): Promise<number[]> {
  const manual = how.kind === 'manual';
  const namespace = config.repository.includes('/') ? config.repository.split('/')[0]! : '';
  const ids: number[] = [];
  for (const pushed of refs) {
    const source = sourceRefOf(pushed.ref, pushed.commit);
    if (!source) continue;
    if (!manual && (skipsBuild(pushed.message) || !touchesPaths(pushed.changed, config.paths)))
      continue;
    const plans = planBuilds(config.rules as BuildRule[], source, {
      defaultBranch: config.defaultBranch ?? how.defaultBranch,
      manual,
    });
    if (plans.length === 0) continue;
    await supersede(tx, config, pushed.ref);
    const now = Date.now();
    const queued = await tx.builds.enqueue(
      plans.map((plan) => ({
        configId: config.id,
        repository: config.repository,
        namespace,
        ref: pushed.ref,
        commit: pushed.commit,
        plan: { ...plan, source: config.sourceUrl },
        trigger: how.kind,
        queuedAt: now,
      })),
    );
    for (const [i, id] of queued.entries())
      await recordBuildEvent(
        tx,
        'build.queued',
        {
          id,
          repository: config.repository,
          ref: pushed.ref,
          commit: pushed.commit,
          plan: plans[i]!,
        },
        how.actor ?? null,
      );
    ids.push(...queued);
  }
  return ids;
}
