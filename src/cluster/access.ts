/**
 * Who may do what on the control plane: collections choose nodes (by node labels) and containers
 * (by container labels); teams are granted a level on a collection — `view` (see), `operate`
 * (start, stop, restart, logs, stats), `full` (run, remove, deploy and scale services).
 * Administrators acting with full credentials have full control everywhere; an access token
 * capped at `read` only views.
 */
import { actsAsAdmin, type Actor } from '../auth/index.js';
import type { CollectionRecord, Meta } from '../meta/index.js';

/** A level of control, lowest first. */
export const LEVELS = ['view', 'operate', 'full'] as const;

/** A level of control. */
export type ControlLevel = (typeof LEVELS)[number];

/** Whether `labels` carries every `wanted` label with its value. */
export function labelsMatch(
  labels: Record<string, string>,
  wanted: Record<string, string>,
): boolean {
  return Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

/** Whether `level` is at least `needed`. */
export function atLeast(level: ControlLevel | undefined, needed: ControlLevel): boolean {
  return level !== undefined && LEVELS.indexOf(level) >= LEVELS.indexOf(needed);
}

/** An actor's levels, read once per request. */
export class ControlAccess {
  private constructor(
    private readonly admin: boolean,
    private readonly cappedToView: boolean,
    private readonly granted: { collection: CollectionRecord; level: ControlLevel }[],
  ) {}

  /** Reads what `actor` is granted. */
  static async of(meta: Meta, actor: Actor): Promise<ControlAccess> {
    const p = actor.principal;
    if (actsAsAdmin(p)) return new ControlAccess(true, false, []);
    const teams = new Set((await meta.teams.teamsOf(p.id)).map((t) => t.teamId));
    const granted: { collection: CollectionRecord; level: ControlLevel }[] = [];
    for (const collection of await meta.cluster.collections())
      for (const g of collection.grants)
        if (teams.has(g.teamId)) granted.push({ collection, level: g.level });
    return new ControlAccess(false, p.cap === 'read', granted);
  }

  /** Whether the actor administers the control plane. */
  get isAdmin(): boolean {
    return this.admin;
  }

  /**
   * The actor's level on a node with `nodeLabels` (and, for a container, its `containerLabels`);
   * undefined when none.
   */
  levelOn(
    nodeLabels: Record<string, string>,
    containerLabels?: Record<string, string>,
  ): ControlLevel | undefined {
    if (this.admin) return 'full';
    let best: ControlLevel | undefined;
    for (const { collection, level } of this.granted) {
      if (!labelsMatch(nodeLabels, collection.nodeLabels)) continue;
      if (containerLabels && !labelsMatch(containerLabels, collection.containerLabels)) continue;
      if (!best || LEVELS.indexOf(level) > LEVELS.indexOf(best)) best = level;
    }
    return this.cappedToView && best ? 'view' : best;
  }

  /** The names of the collections a node with `nodeLabels` is in that grant the actor anything. */
  collectionsOf(nodeLabels: Record<string, string>): string[] {
    return this.granted
      .filter(({ collection }) => labelsMatch(nodeLabels, collection.nodeLabels))
      .map(({ collection }) => collection.name);
  }
}
