/** What the build service takes and shows: configurations, builds, and the runner it drives. */
import type { BuildRule, LogListener, Provider } from '../builds/index.js';

/** What a repository's admin sets. */
export interface BuildConfigInput {
  source: string;
  credentials?: { username: string; password: string } | null;
  /** Make an SSH deploy key for an `ssh://` source (its public half is shown to add upstream). */
  deployKey?: boolean;
  defaultBranch?: string | null;
  rules?: BuildRule[];
  paths?: string[];
  pollSeconds?: number;
  /** Build again when a base image in this registry gets a new digest. */
  rebuildOnBase?: boolean;
  enabled?: boolean;
}

/** A configuration as the API shows it (no secrets). */
export interface BuildConfigView {
  repository: string;
  source: string;
  hasCredentials: boolean;
  /** The public half of the deploy key, to add to the git server (read-only). */
  deployKey: string | null;
  defaultBranch: string | null;
  rules: BuildRule[];
  paths: string[];
  pollSeconds: number;
  /** When the source was last polled (null: not yet). */
  polledAt: string | null;
  rebuildOnBase: boolean;
  owner: string;
  enabled: boolean;
  disabledReason: string | null;
  /** Where each kind of git server sends its push webhooks. */
  hooks: Record<Provider, string>;
}

/** A build as lists show it. */
export interface BuildView {
  id: number;
  repository: string;
  ref: string;
  commit: string;
  tags: string[];
  trigger: string;
  state: string;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationSeconds: number | null;
  digest: string | null;
  error: string | null;
  /** 1 for the next build to start, while queued. */
  queuePosition: number | null;
}

/** What the service needs of the build runner. */
export interface BuildRunnerPort {
  notify(): void;
  cancelHere(id: number): void;
  liveLog(id: number): string | undefined;
  follow(id: number, listener: LogListener): (() => void) | undefined;
}
