/**
 * Push notifications from git servers, each verified the provider's way — GitHub
 * (`X-Hub-Signature-256`), GitLab (`X-Gitlab-Token`), Gitea and Forgejo (`X-Gitea-Signature`),
 * Bitbucket (`X-Hub-Signature`), and Berth's own generic trigger (`X-Berth-Signature`) — and read
 * into the refs they moved. Pure functions over the raw body and headers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The git servers whose push webhooks Berth understands. */
export const PROVIDERS = ['github', 'gitlab', 'gitea', 'bitbucket', 'generic'] as const;

/** A git server kind. */
export type Provider = (typeof PROVIDERS)[number];

/** One ref a push moved. */
export interface PushedRef {
  ref: string;
  commit: string;
  message: string;
  /** Files the push touched, when the provider says. */
  changed?: string[];
}

/** What a notification asks for. */
export type ProviderNotice =
  | { kind: 'push'; refs: PushedRef[]; defaultBranch?: string }
  | { kind: 'ping' }
  | { kind: 'ignored'; reason: string };

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hmacHex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Whether `headers` prove `body` came from whoever holds `secret`, the `provider`'s way. */
export function verifyProvider(
  provider: Provider,
  secret: string,
  headers: Headers,
  body: Buffer,
): boolean {
  switch (provider) {
    case 'github':
      return sameText(
        header(headers, 'x-hub-signature-256') ?? '',
        `sha256=${hmacHex(secret, body)}`,
      );
    case 'bitbucket':
      return sameText(header(headers, 'x-hub-signature') ?? '', `sha256=${hmacHex(secret, body)}`);
    case 'gitea': {
      const given = header(headers, 'x-gitea-signature') ?? header(headers, 'x-forgejo-signature');
      return sameText(given ?? '', hmacHex(secret, body));
    }
    case 'gitlab':
      return sameText(header(headers, 'x-gitlab-token') ?? '', secret);
    case 'generic':
      return sameText(
        header(headers, 'x-berth-signature') ?? '',
        `sha256=${hmacHex(secret, body)}`,
      );
  }
}

interface CommitLike {
  id?: string;
  message?: string;
  added?: string[];
  modified?: string[];
  removed?: string[];
}

function changedFiles(commits: CommitLike[] | undefined): string[] | undefined {
  if (!commits || commits.length === 0) return undefined;
  // Providers cap the commit list (GitHub at 20): a full list is needed to filter by path.
  if (commits.length >= 20) return undefined;
  return [
    ...new Set(
      commits.flatMap((c) => [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]),
    ),
  ];
}

const ZERO = /^0+$/;

function githubLike(
  body: Record<string, unknown>,
  commitKey: 'after' | 'checkout_sha',
): ProviderNotice {
  const ref = String(body.ref ?? '');
  const commit = String(body[commitKey] ?? body.after ?? '');
  if (!ref || !commit) return { kind: 'ignored', reason: 'no ref or commit' };
  if (body.deleted === true || ZERO.test(commit))
    return { kind: 'ignored', reason: `${ref} was deleted` };
  const commits = body.commits as CommitLike[] | undefined;
  const head = (body.head_commit as CommitLike | undefined) ?? commits?.at(-1);
  const repo = (body.repository ?? body.project) as { default_branch?: string } | undefined;
  return {
    kind: 'push',
    refs: [{ ref, commit, message: head?.message ?? '', changed: changedFiles(commits) }],
    defaultBranch: repo?.default_branch,
  };
}

function bitbucket(body: Record<string, unknown>): ProviderNotice {
  const changes = ((body.push as { changes?: unknown[] } | undefined)?.changes ?? []) as {
    new?: { type?: string; name?: string; target?: { hash?: string; message?: string } } | null;
  }[];
  const refs = changes.flatMap((c) => {
    const n = c.new;
    if (!n?.name || !n.target?.hash) return [];
    const prefix = n.type === 'tag' ? 'refs/tags/' : 'refs/heads/';
    return [{ ref: `${prefix}${n.name}`, commit: n.target.hash, message: n.target.message ?? '' }];
  });
  const repo = body.repository as { mainbranch?: { name?: string } } | undefined;
  return refs.length === 0
    ? { kind: 'ignored', reason: 'no ref was created or moved' }
    : { kind: 'push', refs, defaultBranch: repo?.mainbranch?.name };
}

/** What a verified notification from `provider` asks for. */
export function readProviderNotice(
  provider: Provider,
  headers: Headers,
  body: Buffer,
): ProviderNotice {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return { kind: 'ignored', reason: 'the body is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null)
    return { kind: 'ignored', reason: 'not an object' };
  switch (provider) {
    case 'github': {
      const event = header(headers, 'x-github-event');
      if (event === 'ping') return { kind: 'ping' };
      if (event !== 'push') return { kind: 'ignored', reason: `${event ?? 'no'} event` };
      return githubLike(parsed, 'after');
    }
    case 'gitea':
      return header(headers, 'x-gitea-event') === 'push' ||
        header(headers, 'x-forgejo-event') === 'push'
        ? githubLike(parsed, 'after')
        : { kind: 'ignored', reason: 'not a push' };
    case 'gitlab': {
      const event = header(headers, 'x-gitlab-event');
      return event === 'Push Hook' || event === 'Tag Push Hook'
        ? githubLike(parsed, 'checkout_sha')
        : { kind: 'ignored', reason: `${event ?? 'no'} event` };
    }
    case 'bitbucket':
      return header(headers, 'x-event-key') === 'repo:push'
        ? bitbucket(parsed)
        : { kind: 'ignored', reason: 'not repo:push' };
    case 'generic': {
      const ref = String(parsed.ref ?? '');
      const commit = String(parsed.commit ?? '');
      if (!ref || !/^[0-9a-f]{7,64}$/.test(commit))
        return { kind: 'ignored', reason: 'needs ref and commit' };
      const changed = Array.isArray(parsed.changed) ? parsed.changed.map(String) : undefined;
      return {
        kind: 'push',
        refs: [{ ref, commit, message: String(parsed.message ?? ''), changed }],
      };
    }
  }
}
