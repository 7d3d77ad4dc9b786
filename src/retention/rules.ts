/**
 * Retention rules and how they judge a repository's tags. A policy is a list of keep rules; a tag
 * is kept when any rule keeps it (the way Harbor and zot combine rules), and each rule may look
 * only at tags matching its own pattern. Everything else goes, unless protected elsewhere.
 */
import semver from 'semver';
import { z } from 'zod';
import type { TagFacts } from '../meta/index.js';

const DAY_MS = 86_400_000;

const pattern = z
  .string()
  .min(1)
  .max(200)
  .refine((p) => {
    try {
      new RegExp(p);
      return true;
    } catch {
      return false;
    }
  }, 'not a regular expression');
const only = { tags: pattern.optional() };

/** One keep rule. `tags` (a whole-tag regular expression) narrows the tags it looks at. */
export const keepRule = z.discriminatedUnion('keep', [
  z
    .object({ keep: z.literal('newest'), count: z.number().int().min(0).max(100_000), ...only })
    .strict(),
  z
    .object({ keep: z.literal('pushedWithin'), days: z.number().min(0).max(36_500), ...only })
    .strict(),
  z
    .object({ keep: z.literal('pulledWithin'), days: z.number().min(0).max(36_500), ...only })
    .strict(),
  z.object({ keep: z.literal('matching'), tags: pattern }).strict(),
  z
    .object({
      keep: z.literal('newestPerMinor'),
      count: z.number().int().min(1).max(1_000),
      ...only,
    })
    .strict(),
]);

/** One keep rule. */
export type KeepRule = z.infer<typeof keepRule>;

/** A policy's rules: at least one. */
export const keepRules = z.array(keepRule).min(1).max(20);

const whole = (p: string) => new RegExp(`^(?:${p})$`);

/** The rule as people read it (`newest 5 of v.*`). */
export function describeRule(rule: KeepRule): string {
  const of = rule.tags !== undefined && rule.keep !== 'matching' ? ` of ${rule.tags}` : '';
  switch (rule.keep) {
    case 'newest':
      return `the newest ${rule.count} pushed${of}`;
    case 'pushedWithin':
      return `pushed within ${rule.days} days${of}`;
    case 'pulledWithin':
      return `pulled within ${rule.days} days${of}`;
    case 'matching':
      return `tags matching ${rule.tags}`;
    case 'newestPerMinor':
      return `the newest ${rule.count} per semver minor${of}`;
  }
}

/** A tag's semantic version (`v1.2.3` and `1.2.3` alike), or null. */
function versionOf(tag: string): semver.SemVer | null {
  const cleaned = semver.clean(tag, { loose: true });
  return cleaned === null ? null : semver.parse(cleaned);
}

/** Newest first: by push time, then by name so ties are stable. */
const byPushed = (a: TagFacts, b: TagFacts) =>
  b.pushedAt - a.pushedAt || a.tag.localeCompare(b.tag);

/** The tags `rule` keeps among `tags` at time `now`. */
function keptBy(rule: KeepRule, tags: TagFacts[], now: number): TagFacts[] {
  const pool = rule.tags === undefined ? tags : tags.filter((t) => whole(rule.tags!).test(t.tag));
  switch (rule.keep) {
    case 'newest':
      return [...pool].sort(byPushed).slice(0, rule.count);
    case 'pushedWithin':
      return pool.filter((t) => now - t.pushedAt <= rule.days * DAY_MS);
    case 'pulledWithin':
      return pool.filter((t) => t.pulledAt !== null && now - t.pulledAt <= rule.days * DAY_MS);
    case 'matching':
      return pool;
    case 'newestPerMinor': {
      const groups = new Map<string, { tag: TagFacts; version: semver.SemVer }[]>();
      for (const t of pool) {
        const version = versionOf(t.tag);
        if (!version) continue;
        const key = `${version.major}.${version.minor}`;
        groups.set(key, [...(groups.get(key) ?? []), { tag: t, version }]);
      }
      return [...groups.values()].flatMap((g) =>
        g
          .sort((a, b) => semver.rcompare(a.version, b.version) || byPushed(a.tag, b.tag))
          .slice(0, rule.count)
          .map((x) => x.tag),
      );
    }
  }
}

/** Which tags `rules` keep at `now`, each with the first rule that keeps it. */
export function keptTags(tags: TagFacts[], rules: KeepRule[], now: number): Map<string, string> {
  const kept = new Map<string, string>();
  for (const rule of rules)
    for (const t of keptBy(rule, tags, now))
      if (!kept.has(t.tag)) kept.set(t.tag, describeRule(rule));
  return kept;
}
