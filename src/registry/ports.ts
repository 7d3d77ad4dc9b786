import type { Readable } from 'node:stream';
/** The small interfaces the registry core is handed by its composition root. */

/**
 * Told when a change has committed its event to the outbox (so consumers can read it at once);
 * must not throw. The events themselves are in the outbox, written with the change.
 */
export interface EventSink {
  committed(): void;
}

/** Who made a change and from where, recorded with its event in the outbox. */
export interface ChangeContext {
  /** The account name, or null for anonymous callers and Berth itself. */
  actor?: string | null;
  address?: string | null;
  userAgent?: string | null;
  /** The registry's public name the client used (`domain`, else its Host). */
  registry?: string;
  /** The scheme and host the client used (`https://registry.example.com`). */
  origin?: string;
}

/**
 * The signed-tags policy as the core sees it: why `tag` may not be served as `digest` from
 * `repository` and what that does (`enforce`: refuse; `warn`: serve with a warning; `audit`:
 * serve and record it), or undefined when it meets the policy — at once, without a promise,
 * when nothing is required of the repository.
 */
export type PullGate = (
  repository: string,
  tag: string,
  digest: string,
) => Promise<{ reason: string; mode: 'enforce' | 'warn' | 'audit' } | undefined> | undefined;

/** Decides whether the caller may read a repository (used for automatic cross-repository mounts). */
export type CanRead = (repository: string) => boolean | Promise<boolean>;

/** Counts bytes moved, for metrics. */
export interface ByteCounter {
  received(bytes: number): void;
  sent(bytes: number): void;
}

/** An event sink that drops everything. */
export const NO_EVENTS: EventSink = { committed: () => undefined };

/** How a cached manifest was served: from the cache, checked upstream, fetched now, or stale. */
export type CacheOutcome = 'hit' | 'revalidated' | 'fetched' | 'stale';

/**
 * A pull-through cache the registry asks for the repositories it mirrors: it brings manifests in
 * from the upstream (or says the cached copy is stale), and streams a missing blob while storing it.
 */
export interface PullThrough {
  /** The outcome for `reference` of `name` once it is here, or undefined when `name` is not cached. */
  refresh(name: string, reference: string): Promise<CacheOutcome | undefined>;
  /** Blob `digest` of `name` fetched from the upstream: its size and bytes, as they are stored. */
  fetchBlob(name: string, digest: string): Promise<{ size: number; read(): Readable } | undefined>;
  /** Whether `name` is a cached repository (clients may not push to it). */
  covers(name: string): Promise<boolean>;
  /** The local name a pull of `name` reads (a mirror namespace answers for names not Berth's own). */
  localName(name: string): Promise<string>;
  /**
   * True when reads of `name` are surely Berth's own, known without waiting (no cache namespace
   * covers it and none is a mirror); false when `localName` and `refresh` must be asked.
   */
  readsLocally(name: string): boolean;
}
