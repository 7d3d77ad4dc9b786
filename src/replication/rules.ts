/**
 * Replication rules: push Berth's images to an upstream or pull an upstream's into Berth, chosen
 * by repository globs and tag filters (a regular expression, a semver range, exclusions), with
 * their referrers (signatures, SBOMs and other artifacts naming them), deletions propagated when
 * asked, triggered by pushes, on a schedule or by hand.
 */
import semver from 'semver';
import { z } from 'zod';
import { globPattern } from '../events/index.js';

/** A rule's settings. */
export const ruleSettings = z
  .object({
    direction: z.enum(['push', 'pull']),
    upstream: z.string().min(1).max(32),
    /** Repository globs (`acme/**`): local names for push, upstream names for pull. */
    repositories: z.array(z.string().min(1).max(255)).min(1).max(50).default(['**']),
    tags: z
      .object({
        include: z.string().max(200).optional(),
        semver: z.string().max(200).optional(),
        exclude: z.array(z.string().max(200)).max(20).default([]),
      })
      .strict()
      .default({ exclude: [] }),
    /** Put before each name on the other side (`mirror/`). */
    destination: z.string().max(200).default(''),
    includeReferrers: z.boolean().default(true),
    propagateDeletes: z.boolean().default(false),
    onPush: z.boolean().default(true),
    /** Seconds between scheduled runs (null: none). */
    everySeconds: z.number().int().min(10).max(31_536_000).nullable().default(null),
    /** The account whose rights the local side uses. */
    actAs: z.string().min(1).max(64).default('admin'),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (const pattern of [r.tags.include, ...r.tags.exclude])
      if (pattern !== undefined)
        try {
          new RegExp(pattern);
        } catch {
          ctx.addIssue({
            code: 'custom',
            message: `${pattern} is not a regular expression`,
            path: ['tags'],
          });
        }
    if (r.tags.semver !== undefined && semver.validRange(r.tags.semver) === null)
      ctx.addIssue({
        code: 'custom',
        message: `${r.tags.semver} is not a semver range`,
        path: ['tags', 'semver'],
      });
    if (r.destination !== '' && !/^[a-z0-9._/-]+\/$/.test(r.destination))
      ctx.addIssue({
        code: 'custom',
        message: 'a destination prefix ends with /',
        path: ['destination'],
      });
  });

/** A rule's settings, checked. */
export type RuleSettings = z.infer<typeof ruleSettings>;

/** Whether `repository` is one the rule replicates. */
export function repositoryMatches(rule: RuleSettings, repository: string): boolean {
  return rule.repositories.some((glob) => globPattern(glob).test(repository));
}

/** Whether `tag` passes the rule's tag filters. */
export function tagMatches(rule: RuleSettings, tag: string): boolean {
  const t = rule.tags;
  if (t.include !== undefined && !new RegExp(`^(?:${t.include})$`).test(tag)) return false;
  if (t.exclude.some((x) => new RegExp(`^(?:${x})$`).test(tag))) return false;
  if (t.semver !== undefined) {
    const version = semver.coerce(tag, { includePrerelease: true });
    if (!semver.valid(tag.replace(/^v/, '')) || !version || !semver.satisfies(version, t.semver))
      return false;
  }
  return true;
}
