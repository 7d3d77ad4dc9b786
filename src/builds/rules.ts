/**
 * Build rules as Docker Hub has them: a source type (branch or tag), a source name or a regular
 * expression (`/^v([0-9.]+)$/`) whose capture groups the Docker tag template can use, and the tag
 * template itself (`{sourceref}`, `{\1}`…`{\9}`, `{commit}`, `{short_sha}`). Pure functions.
 */

/** One build rule of a repository's build configuration. */
export interface BuildRule {
  sourceType: 'branch' | 'tag';
  /** A branch or tag name, or a regular expression between slashes (`/^release-(.*)$/`). */
  source: string;
  /** The Docker tag to produce; a template. */
  tag: string;
  /** The Dockerfile, relative to the context. */
  dockerfile: string;
  /** The build context, relative to the repository's root. */
  context: string;
  buildArgs: Record<string, string>;
  /** Reuse the engine's build cache. */
  cache: boolean;
  /** Build on pushes and polls (else only by hand). */
  autobuild: boolean;
  /** Also tag `latest` when this is the default branch. */
  latestOnDefault: boolean;
}

/** A git ref that changed: `refs/heads/main`, `refs/tags/v1.2.3`. */
export interface SourceRef {
  kind: 'branch' | 'tag';
  name: string;
  commit: string;
}

/** What one matching rule builds. */
export interface PlannedBuild {
  rule: number;
  tags: string[];
  dockerfile: string;
  context: string;
  buildArgs: Record<string, string>;
  cache: boolean;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const MAX_PATTERN = 200;

/** The ref a full git ref name names (`refs/heads/x`, `refs/tags/y`), or undefined. */
export function sourceRefOf(ref: string, commit: string): SourceRef | undefined {
  if (ref.startsWith('refs/heads/')) return { kind: 'branch', name: ref.slice(11), commit };
  if (ref.startsWith('refs/tags/')) return { kind: 'tag', name: ref.slice(10), commit };
  return undefined;
}

function patternOf(source: string): RegExp | undefined {
  const m = /^\/(.*)\/$/.exec(source);
  return m ? new RegExp(m[1]!) : undefined;
}

/** Why `rule` cannot be used, or undefined. */
export function ruleProblem(rule: BuildRule): string | undefined {
  if (rule.source.length === 0 || rule.source.length > MAX_PATTERN)
    return `source is 1 to ${MAX_PATTERN} characters`;
  try {
    patternOf(rule.source);
  } catch {
    return `${rule.source} is not a regular expression`;
  }
  if (!/^[^{}]*(\{(sourceref|commit|short_sha|\\[1-9])\}[^{}]*)*$/.test(rule.tag))
    return `tag ${rule.tag}: templates are {sourceref}, {commit}, {short_sha} and {\\1}…{\\9}`;
  for (const p of [rule.dockerfile, rule.context])
    if (p.split('/').includes('..') || p.startsWith('/')) return `${p} leaves the repository`;
  return undefined;
}

/** `template` filled in for `ref` with the capture `groups`; undefined when no valid tag results. */
export function renderTag(
  template: string,
  ref: SourceRef,
  groups: string[] = [],
): string | undefined {
  const tag = template.replace(/\{(sourceref|commit|short_sha|\\([1-9]))\}/g, (_m, name, n) => {
    if (n) return groups[Number(n)] ?? '';
    if (name === 'sourceref') return ref.name;
    if (name === 'commit') return ref.commit;
    return ref.commit.slice(0, 7);
  });
  // Docker tags cannot hold slashes: feature/x becomes feature-x, as Docker Hub does.
  const clean = tag.replace(/\//g, '-');
  return TAG.test(clean) ? clean : undefined;
}

/**
 * The builds `ref` makes under `rules` (only autobuild rules unless `manual`): one per matching
 * rule, with its tags (plus `latest` for the default branch where asked).
 */
export function planBuilds(
  rules: BuildRule[],
  ref: SourceRef,
  options: { defaultBranch?: string; manual?: boolean } = {},
): PlannedBuild[] {
  const out: PlannedBuild[] = [];
  rules.forEach((rule, index) => {
    if (rule.sourceType !== ref.kind || (!rule.autobuild && !options.manual)) return;
    const pattern = patternOf(rule.source);
    let groups: string[] = [];
    if (pattern) {
      const m = pattern.exec(ref.name);
      if (!m) return;
      groups = [...m];
    } else if (rule.source !== ref.name) return;
    const tag = renderTag(rule.tag, ref, groups);
    if (!tag) return;
    const tags = [tag];
    if (rule.latestOnDefault && ref.kind === 'branch' && ref.name === options.defaultBranch)
      if (tag !== 'latest') tags.push('latest');
    out.push({
      rule: index,
      tags,
      dockerfile: rule.dockerfile,
      context: rule.context,
      buildArgs: rule.buildArgs,
      cache: rule.cache,
    });
  });
  return out;
}

/** Whether a commit message asks for no build (`[skip build]`, `[build skip]`, `[ci skip]`). */
export function skipsBuild(message: string): boolean {
  return /\[(skip build|build skip|skip ci|ci skip)\]/i.test(message);
}

/** Whether any of `changed` paths lies under one of `paths` (no paths: every change counts). */
export function touchesPaths(changed: string[] | undefined, paths: string[]): boolean {
  if (paths.length === 0 || changed === undefined) return true;
  const roots = paths.map((p) => p.replace(/^\/+|\/+$/g, ''));
  return changed.some((file) =>
    roots.some((root) => root === '' || file === root || file.startsWith(`${root}/`)),
  );
}
