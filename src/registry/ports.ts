/** The small interfaces the registry core is handed by its composition root. */

/** Something that happened in the registry, for metrics, events and audit later. */
export type RegistryEvent =
  | { kind: 'blob.uploaded'; repository: string; digest: string; size: number }
  | { kind: 'blob.mounted'; repository: string; digest: string; from: string }
  | { kind: 'blob.deleted'; repository: string; digest: string }
  | { kind: 'manifest.pushed'; repository: string; digest: string; tag?: string; mediaType: string }
  | { kind: 'manifest.deleted'; repository: string; digest: string }
  | { kind: 'tag.deleted'; repository: string; tag: string };

/** Receives registry events; must not throw. */
export interface EventSink {
  emit(event: RegistryEvent): void;
}

/** Who made a change and from where, recorded with its event in the outbox. */
export interface ChangeContext {
  /** The account name, or null for anonymous callers and Berth itself. */
  actor?: string | null;
  address?: string | null;
  userAgent?: string | null;
  /** The registry's public name the client used (`domain`, else its Host). */
  registry?: string;
}

/** Decides whether the caller may read a repository (used for automatic cross-repository mounts). */
export type CanRead = (repository: string) => boolean | Promise<boolean>;

/** Counts bytes moved, for metrics. */
export interface ByteCounter {
  received(bytes: number): void;
  sent(bytes: number): void;
}

/** An event sink that drops everything. */
export const NO_EVENTS: EventSink = { emit: () => undefined };
