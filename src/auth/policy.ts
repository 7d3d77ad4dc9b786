/**
 * The access policy as a pure function: given the facts about a caller and a repository, which
 * registry actions are allowed and, for each refused one, why. No I/O here.
 */
import type { AccessLevel, OrgRole, Visibility } from '../meta/index.js';

/** A registry action on a repository. */
export type RepositoryAction = 'pull' | 'push' | 'delete';

/** Every repository action, in order. */
export const REPOSITORY_ACTIONS: readonly RepositoryAction[] = ['pull', 'push', 'delete'];

const RANK: Record<AccessLevel, number> = { read: 1, write: 2, admin: 3 };

/** The higher of two levels (undefined counts as none). */
export function maxLevel(a?: AccessLevel, b?: AccessLevel): AccessLevel | undefined {
  if (!a) return b;
  if (!b) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

/** The lower of two levels, where undefined means no limit for `cap`. */
export function capLevel(
  level: AccessLevel | undefined,
  cap?: AccessLevel,
): AccessLevel | undefined {
  if (!level || !cap) return level;
  return RANK[level] <= RANK[cap] ? level : cap;
}

/** Whether `level` includes `needed`. */
export function levelAtLeast(level: AccessLevel | undefined, needed: AccessLevel): boolean {
  return level !== undefined && RANK[level] >= RANK[needed];
}

/** The actions a level allows. */
export function actionsOf(level: AccessLevel | undefined): RepositoryAction[] {
  if (level === 'admin') return ['pull', 'push', 'delete'];
  if (level === 'write') return ['pull', 'push'];
  if (level === 'read') return ['pull'];
  return [];
}

/** Everything the policy needs to know about one caller and one repository. */
export interface AccessFacts {
  /** Undefined for an anonymous caller. */
  user?: { name: string; admin: boolean; cap?: AccessLevel };
  repository: string;
  /** The first path component, or undefined for a single-component name. */
  namespace?: string;
  /** What owns the namespace, if anything. */
  namespaceOwner?: 'user' | 'org';
  /** The caller's role in the namespace's organisation. */
  orgRole?: OrgRole;
  /** The organisation's level for every member (when the caller is one). */
  orgDefault?: AccessLevel;
  /** The best level granted to the caller (or their teams) on this repository or namespace. */
  granted?: AccessLevel;
  /** Undefined when the repository does not exist yet. */
  visibility?: Visibility;
  anonymousPull: boolean;
}

/** The policy's answer: the caller's effective level, allowed actions and refusal reasons. */
export interface AccessDecision {
  level?: AccessLevel;
  allowed: Set<RepositoryAction>;
  reasons: Partial<Record<RepositoryAction, string>>;
  /** Whether the repository exists. */
  exists: boolean;
}

function ownLevel(f: AccessFacts): AccessLevel | undefined {
  const user = f.user;
  if (!user) return undefined;
  if (user.admin) return 'admin';
  if (f.namespaceOwner === 'user' && f.namespace === user.name) return 'admin';
  if (f.namespaceOwner === 'org' && f.orgRole === 'owner') return 'admin';
  return maxLevel(f.orgRole ? f.orgDefault : undefined, f.granted);
}

/**
 * Why `action` is refused. To a caller who may not read the repository (`mayRead` false) the
 * answer reads the same whether it exists or not.
 */
function refusal(f: AccessFacts, action: RepositoryAction, mayRead: boolean): string {
  const name = f.repository;
  if (!f.user) return `authentication required to ${action} ${name}`;
  const who = f.user.name;
  const uncapped = ownLevel(f);
  if (f.user.cap && actionsOf(uncapped).includes(action))
    return `the access token ${who} used allows ${f.user.cap} access only`;
  if (action === 'pull') return `${who} may not pull ${name}: it does not exist or is private`;
  if (action === 'delete')
    return `${who} may not delete from ${name}: that needs admin rights on the repository`;
  if (uncapped === 'read') return `${who} may not push to ${name}: ${who} has read access only`;
  const creating = f.visibility === undefined || !mayRead;
  if (creating && f.namespace === undefined)
    return `${who} may not create ${name}: only administrators may push outside a namespace`;
  if (creating && !f.namespaceOwner)
    return `${who} may not create ${name}: no user or organisation named ${f.namespace} exists`;
  if (f.namespaceOwner === 'user')
    return `${who} may not push to ${name}: namespace ${f.namespace} belongs to another user`;
  if (f.namespaceOwner === 'org' && !f.orgRole)
    return `${who} may not push to ${name}: ${who} is not a member of organisation ${f.namespace}`;
  return creating
    ? `${who} may not create repositories in organisation ${f.namespace}: that needs write access`
    : `${who} may not push to ${name}: no write access granted`;
}

/** Decides what the caller may do with the repository. */
export function decideAccess(f: AccessFacts): AccessDecision {
  let level = capLevel(ownLevel(f), f.user?.cap);
  const exists = f.visibility !== undefined;
  const publicRead = f.visibility === 'public' && (f.user !== undefined || f.anonymousPull);
  if (publicRead) level = maxLevel(level, 'read');
  const allowed = new Set<RepositoryAction>(actionsOf(level));
  // A repository that does not exist yet can be created only inside an existing namespace.
  if (!exists && !f.user?.admin && !f.namespaceOwner) allowed.clear();
  const reasons: AccessDecision['reasons'] = {};
  for (const action of REPOSITORY_ACTIONS)
    if (!allowed.has(action)) reasons[action] = refusal(f, action, allowed.has('pull'));
  return { level: allowed.size > 0 ? level : undefined, allowed, reasons, exists };
}
