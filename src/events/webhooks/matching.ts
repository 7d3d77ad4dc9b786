/**
 * Which events a webhook receives: its scope (one repository, a namespace, or everything), the
 * event types it asked for, and its filters (repository glob, tag pattern, media types, and actors
 * whose changes it does not want, such as a replication or build robot).
 */
import type { BerthEvent, EventType } from '../model.js';

/** The filters a webhook may set; every one set must match. */
export interface WebhookFilters {
  /** A glob over repository names: `*` within one path component, `**` across them. */
  repositories?: string;
  /** A regular expression a tag must match in full (events without a tag then never match). */
  tags?: string;
  /** Media types of the manifest or blob. */
  mediaTypes?: string[];
  /** Accounts whose events are not delivered. */
  excludeActors?: string[];
}

/** What matching needs of a webhook. */
export interface WebhookInterest {
  scopeKind: 'repository' | 'namespace' | 'global';
  scope: string;
  events: string[];
  filters: WebhookFilters;
}

/** Every event type, in the order the API lists them. */
export const EVENT_TYPES: readonly EventType[] = [
  'manifest.pushed',
  'manifest.deleted',
  'manifest.pulled',
  'tag.deleted',
  'blob.uploaded',
  'blob.mounted',
  'blob.deleted',
  'repository.created',
  'repository.deleted',
  'repository.visibility',
  'trust.published',
  'account.changed',
  'login',
  'gc.finished',
  'build.queued',
  'build.started',
  'build.succeeded',
  'build.failed',
  'build.cancelled',
  'build.trigger.disabled',
  'cluster.changed',
  'replication.started',
  'replication.succeeded',
  'replication.failed',
  'quota.warning',
  'retention.removed',
  'retention.restored',
  'signature.unverified',
];

/** The longest tag pattern accepted (patterns run against tags of at most 128 characters). */
const MAX_PATTERN = 200;

/** The regular expression of a repository glob. */
export function globPattern(glob: string): RegExp {
  const body = glob
    .split(/(\*\*|\*|\?)/)
    .map((part) =>
      part === '**'
        ? '.*'
        : part === '*'
          ? '[^/]*'
          : part === '?'
            ? '[^/]'
            : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${body}$`);
}

/** Why `filters` cannot be used, or undefined when they can. */
export function filtersProblem(filters: WebhookFilters): string | undefined {
  if (filters.tags !== undefined) {
    if (filters.tags.length > MAX_PATTERN) return `tag patterns are at most ${MAX_PATTERN} long`;
    try {
      new RegExp(filters.tags);
    } catch {
      return `${filters.tags} is not a regular expression`;
    }
  }
  if (filters.repositories !== undefined && filters.repositories.length > MAX_PATTERN)
    return `repository globs are at most ${MAX_PATTERN} long`;
  return undefined;
}

function inScope(hook: WebhookInterest, repository: string | undefined): boolean {
  if (hook.scopeKind === 'global') return true;
  if (repository === undefined) return false;
  if (hook.scopeKind === 'repository') return repository === hook.scope;
  return repository.startsWith(`${hook.scope}/`);
}

/** Whether `hook` receives `event`. */
export function receives(hook: WebhookInterest, event: BerthEvent): boolean {
  if (!hook.events.includes(event.type)) return false;
  const repository = event.target.repository;
  if (!inScope(hook, repository)) return false;
  const f = hook.filters;
  if (f.excludeActors?.includes(event.actor.name ?? '')) return false;
  if (f.repositories !== undefined && !globPattern(f.repositories).test(repository ?? ''))
    return false;
  if (f.tags !== undefined) {
    const tag = event.target.tag;
    if (tag === undefined || !new RegExp(`^(?:${f.tags})$`).test(tag)) return false;
  }
  if (f.mediaTypes && f.mediaTypes.length > 0) {
    if (!event.target.mediaType || !f.mediaTypes.includes(event.target.mediaType)) return false;
  }
  return true;
}
