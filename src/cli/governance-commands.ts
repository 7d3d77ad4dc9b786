/** `berth immutable …`, `berth quota …` and `berth retention …`: governance rules on the data directory (a running server sees changes within seconds). */
import type { Command } from 'commander';
import type { Actor } from '../auth/index.js';
import { formatBytes, parseBytes } from '../kit/index.js';
import { ImmutabilityService, QuotaService, RetentionService } from '../manage/index.js';
import { RetentionEngine, describeRule, type KeepRule } from '../retention/index.js';
import type { QuotaKind } from '../meta/index.js';
import { ImmutableTags } from '../registry/index.js';
import { printRows, say, withDataFlags, withDirectory, type ConfigFrom } from './directory.js';

type Flags = { config?: string; data?: string; json?: boolean } & Record<string, unknown>;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `berth immutable …`: immutable-tag rules on the data directory (a running server sees them within seconds). */
export function registerImmutableCommands(program: Command, configFrom: ConfigFrom): void {
  const immutable = program.command('immutable').description('immutable-tag rules');
  const withService = <T>(f: Flags, work: (s: ImmutabilityService, actor: Actor) => Promise<T>) =>
    withDirectory(configFrom(f), (_auth, actor, meta, audit) =>
      work(new ImmutabilityService(meta, audit), actor),
    );
  withDataFlags(
    immutable
      .command('add <scope>')
      .description('freeze tags of a repository (acme/app) or namespace (acme/)'),
  )
    .option('--pattern <regex>', 'tags matching (repeatable; default all)', collect)
    .option('--exclude <regex>', 'but not these (repeatable), e.g. latest', collect)
    .action(async (scope: string, f: Flags) => {
      const rule = await withService(f, (s, actor) =>
        s.add(actor, {
          scope,
          patterns: (f.pattern as string[] | undefined) ?? ['.*'],
          exclusions: (f.exclude as string[] | undefined) ?? [],
        }),
      );
      say(`rule ${rule.id}: tags of ${scope} are immutable`);
    });
  withDataFlags(immutable.command('ls').description('the rules'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const rules = await withService(f, (s) => s.rules());
      printRows(
        rules.map((r) => ({
          ...r,
          patterns: r.patterns.join(' '),
          exclusions: r.exclusions.join(' '),
        })),
        ['id', 'scope', 'patterns', 'exclusions'],
        Boolean(f.json),
      );
    });
  withDataFlags(immutable.command('rm <id>').description('remove a rule')).action(
    async (id: string, f: Flags) => {
      await withService(f, (s, actor) => s.remove(actor, Number(id)));
      say(`rule ${id} removed`);
    },
  );
}

const KINDS = ['global', 'namespace', 'repository'];

function kindOf(kind: string): QuotaKind {
  if (!KINDS.includes(kind)) throw new Error(`${kind}: say global, namespace or repository`);
  return kind as QuotaKind;
}

function sizeFlag(value: unknown, flag: string): number | null {
  if (value === undefined) return null;
  const bytes = parseBytes(String(value));
  if (bytes === undefined) throw new Error(`--${flag} ${String(value)}: not a size (e.g. 500MiB)`);
  return bytes;
}

function countFlag(value: unknown, flag: string): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${flag}: a whole number`);
  return n;
}

const shown = (bytes: number | null) => (bytes === null ? null : formatBytes(bytes));

/** `berth quota …`: storage, repository and tag quotas. */
export function registerQuotaCommands(program: Command, configFrom: ConfigFrom): void {
  const quota = program.command('quota').description('storage, repository and tag quotas');
  const withService = <T>(f: Flags, work: (s: QuotaService, actor: Actor) => Promise<T>) =>
    withDirectory(configFrom(f), (auth, actor, meta, audit) =>
      work(new QuotaService(meta, auth, audit), actor),
    );
  withDataFlags(
    quota
      .command('set <kind> [scope]')
      .description('set the quota of the registry (global), a namespace or a repository'),
  )
    .option('--hard <size>', 'refuse pushes beyond this size (500MiB, 2GB)')
    .option('--soft <size>', 'warn (quota.warning event) beyond this size')
    .option('--repositories <n>', 'at most this many repositories')
    .option('--tags <n>', 'at most this many tags')
    .action(async (kind: string, scope: string | undefined, f: Flags) => {
      const limits = {
        storageHard: sizeFlag(f.hard, 'hard'),
        storageSoft: sizeFlag(f.soft, 'soft'),
        repositoriesMax: countFlag(f.repositories, 'repositories'),
        tagsMax: countFlag(f.tags, 'tags'),
      };
      const saved = await withService(f, (s, actor) =>
        s.set(actor, kindOf(kind), scope ?? '', limits),
      );
      say(
        `quota set on ${saved.kind === 'global' ? 'the registry' : `${saved.kind} ${saved.scope}`}`,
      );
    });
  withDataFlags(quota.command('ls').description('every quota with its usage'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const { quotas, total } = await withService(f, (s, actor) => s.list(actor));
      if (f.json) {
        process.stdout.write(`${JSON.stringify({ quotas, total })}\n`);
        return;
      }
      printRows(
        quotas.map((q) => ({
          kind: q.kind,
          scope: q.scope || '-',
          used: formatBytes(q.usage.logical),
          exclusive: formatBytes(q.usage.exclusive),
          soft: shown(q.storageSoft),
          hard: shown(q.storageHard),
          repositories: `${q.usage.repositories}/${q.repositoriesMax ?? '-'}`,
          tags: `${q.usage.tags}/${q.tagsMax ?? '-'}`,
        })),
        ['kind', 'scope', 'used', 'exclusive', 'soft', 'hard', 'repositories', 'tags'],
        false,
      );
      say(`registry total: ${formatBytes(total.logical)} in ${total.repositories} repositories`);
    });
  withDataFlags(quota.command('usage <kind> [scope]').description('what a scope uses'))
    .option('--json', 'print JSON', false)
    .action(async (kind: string, scope: string | undefined, f: Flags) => {
      const view = await withService(f, (s, actor) => s.usage(actor, kindOf(kind), scope ?? ''));
      if (f.json) process.stdout.write(`${JSON.stringify(view)}\n`);
      else
        say(
          `${view.kind} ${view.scope || '(registry)'}: ${formatBytes(view.usage.logical)} logical, ${formatBytes(view.usage.exclusive)} held only here, ${view.usage.repositories} repositories, ${view.usage.tags} tags`,
        );
    });
  withDataFlags(quota.command('rm <kind> [scope]').description('remove a quota')).action(
    async (kind: string, scope: string | undefined, f: Flags) => {
      await withService(f, (s, actor) => s.remove(actor, kindOf(kind), scope ?? ''));
      say('quota removed');
    },
  );
}

/** `newest:5`, `pushedWithin:30`, `matching:release-.*`, `newestPerMinor:2@v.*` → a keep rule. */
function keepRuleOf(text: string): KeepRule {
  const match = /^(\w+):([^@]+)(?:@(.+))?$/.exec(text);
  if (!match) throw new Error(`--keep ${text}: say KIND:VALUE[@TAGS], e.g. newest:5@v.*`);
  const [, keep, value, tags] = match as unknown as [string, string, string, string | undefined];
  const only = tags === undefined ? {} : { tags };
  if (keep === 'matching') return { keep, tags: value };
  if (keep === 'newest' || keep === 'newestPerMinor')
    return { keep, count: Number(value), ...only };
  if (keep === 'pushedWithin' || keep === 'pulledWithin')
    return { keep, days: Number(value), ...only };
  throw new Error(
    `--keep ${text}: kinds are newest, pushedWithin, pulledWithin, matching, newestPerMinor`,
  );
}

/** `berth retention …`: retention policies, runs and the trash. */
export function registerRetentionCommands(program: Command, configFrom: ConfigFrom): void {
  const retention = program.command('retention').description('retention policies and the trash');
  const withService = <T>(f: Flags, work: (s: RetentionService, actor: Actor) => Promise<T>) =>
    withDirectory(configFrom(f), async (auth, actor, meta, audit) => {
      // Changes reach a running server's caches within their lifetime (seconds).
      const frozen = new ImmutableTags(meta);
      const engine = new RetentionEngine(meta, {
        immutable: async (repository, tag) => (await frozen.ruleFor(repository, tag)) !== undefined,
        tagsChanged: () => {},
        events: { committed: () => {} },
      });
      return work(new RetentionService(meta, auth, engine, audit), actor);
    });
  withDataFlags(
    retention
      .command('add <scope>')
      .description('add a policy on a repository (acme/app) or namespace (acme/)'),
  )
    .requiredOption(
      '--keep <rule>',
      'KIND:VALUE[@TAGS], repeatable (newest:5, pulledWithin:30)',
      collect,
    )
    .option('--every <hours>', 'run on its own every so many hours')
    .option('--restore-days <days>', 'days removed tags stay restorable', '7')
    .action(async (scope: string, f: Flags) => {
      const rules = (f.keep as string[]).map(keepRuleOf);
      const policy = await withService(f, (s, actor) =>
        s.add(actor, {
          scope,
          rules,
          everyHours: f.every === undefined ? null : Number(f.every),
          restoreDays: Number(f.restoreDays),
          enabled: true,
        }),
      );
      say(`policy ${policy.id} on ${scope} keeps ${rules.map(describeRule).join('; ')}`);
    });
  withDataFlags(retention.command('ls').description('the policies'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const policies = await withService(f, (s, actor) => s.policies(actor));
      printRows(
        policies.map((p) => ({
          id: p.id,
          scope: p.scope,
          keeps: (p.rules as KeepRule[]).map(describeRule).join('; '),
          every: p.everyHours === null ? 'by hand' : `${p.everyHours} h`,
          restore: `${p.restoreDays} d`,
        })),
        ['id', 'scope', 'keeps', 'every', 'restore'],
        Boolean(f.json),
      );
    });
  withDataFlags(retention.command('rm <id>').description('remove a policy')).action(
    async (id: string, f: Flags) => {
      await withService(f, (s, actor) => s.remove(actor, Number(id)));
      say(`policy ${id} removed`);
    },
  );
  withDataFlags(retention.command('run <id>').description('run a policy now'))
    .option('--dry-run', 'only list what would go', false)
    .option('--json', 'print the report as JSON', false)
    .action(async (id: string, f: Flags) => {
      const report = await withService(f, (s, actor) =>
        s.run(actor, Number(id), Boolean(f.dryRun)),
      );
      if (f.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      for (const r of report.repositories)
        for (const item of r.removed)
          say(`${report.dryRun ? 'would remove' : 'removed'} ${r.repository}:${item.tag}`);
      say(
        `${report.dryRun ? 'would remove' : 'removed'} ${report.removed} tags, kept ${report.kept}`,
      );
    });
  withDataFlags(retention.command('trash').description('tags removed, restorable for a while'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const items = await withService(f, (s, actor) => s.trash(actor));
      printRows(
        items.map((i) => ({
          id: i.id,
          image: `${i.repository}:${i.tag}`,
          digest: i.digest,
          until: new Date(i.restoreUntil).toISOString(),
        })),
        ['id', 'image', 'digest', 'until'],
        Boolean(f.json),
      );
    });
  withDataFlags(retention.command('restore <id>').description('put a removed tag back')).action(
    async (id: string, f: Flags) => {
      const item = await withService(f, (s, actor) => s.restore(actor, Number(id)));
      say(`restored ${item.repository}:${item.tag}`);
    },
  );
}
