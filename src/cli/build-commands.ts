/** `berth build …`: automated builds from git, on the data directory (the server runs them). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Actor } from '../auth/index.js';
import type { BuildRule } from '../builds/index.js';
import type { BerthConfig } from '../config/index.js';
import { SecretBox } from '../kit/index.js';
import { BuildService } from '../manage/index.js';
import { masterKeyOf } from './compose.js';
import {
  printRows,
  readStdinSecret,
  say,
  withDataFlags,
  withDirectory,
  type ConfigFrom,
} from './directory.js';

type Flags = Record<string, unknown> & { config?: string; data?: string; json?: boolean };

function withBuilds<T>(
  config: BerthConfig,
  work: (service: BuildService, actor: Actor) => Promise<T>,
): Promise<T> {
  return withDirectory(config, (auth, actor, meta) =>
    work(new BuildService(meta, auth, new SecretBox(masterKeyOf(config))), actor),
  );
}

/** A rule from `TYPE:SOURCE:TAG` (`branch:main:latest`, `tag:/^v([0-9.]+)$/:{\1}`). */
export function ruleOf(text: string, f: Flags): BuildRule {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  const type = text.slice(0, first);
  if ((type !== 'branch' && type !== 'tag') || last <= first)
    throw new Error(`a rule is branch|tag:SOURCE:TAG, not ${text}`);
  return {
    sourceType: type,
    source: text.slice(first + 1, last),
    tag: text.slice(last + 1),
    dockerfile: (f.dockerfile as string | undefined) ?? 'Dockerfile',
    context: (f.context as string | undefined) ?? '.',
    buildArgs: {},
    cache: !f.noCache,
    autobuild: !f.manualOnly,
    latestOnDefault: Boolean(f.latest),
  };
}

function idOf(value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`a build id is a number, not ${value}`);
  return Number(value);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Registers `berth build link|rules|trigger|list|logs|cancel`. */
export function registerBuildCommands(program: Command, configFrom: ConfigFrom): void {
  const build = program.command('build').description('automated builds from a git repository');
  withDataFlags(build.command('link <repository>').description('link a repository to a git source'))
    .requiredOption('--source <url>', 'http(s)://, git://, file:// URL or absolute path')
    .option('--username <name>', 'user for an HTTP(S) source (the token on standard input)')
    .option(
      '--deploy-key',
      'make an SSH deploy key for an ssh:// source and print its public half',
      false,
    )
    .option('--default-branch <branch>', 'the branch that also gets `latest` where rules ask')
    .option('--poll <seconds>', 'also look for new commits this often (0: webhooks only)', '0')
    .option('--paths <paths>', 'build only for changes under these paths (comma-separated)')
    .option('--json', 'print JSON', false)
    .action(async (repository: string, f: Flags) => {
      const password = f.username ? await readStdinSecret() : undefined;
      const linked = await withBuilds(configFrom(f), (s, actor) =>
        s.link(actor, repository, {
          source: String(f.source),
          credentials: f.username
            ? { username: String(f.username), password: password! }
            : undefined,
          deployKey: Boolean(f.deployKey),
          defaultBranch: (f.defaultBranch as string | undefined) ?? undefined,
          pollSeconds: Number(f.poll),
          paths: typeof f.paths === 'string' ? f.paths.split(',').filter(Boolean) : undefined,
          enabled: true,
        }),
      );
      if (f.json) return say(JSON.stringify(linked));
      say(`linked ${repository} to ${linked.config.source}`);
      for (const [provider, url] of Object.entries(linked.config.hooks))
        say(`  ${provider}: ${url}`);
      if (linked.hookSecret) say(`webhook secret (shown once): ${linked.hookSecret}`);
      if (linked.config.deployKey)
        say(`deploy key (add it read-only upstream): ${linked.config.deployKey}`);
    });
  withDataFlags(build.command('rules <repository>').description("set a repository's build rules"))
    .option('--rule <TYPE:SOURCE:TAG>', 'a rule, e.g. branch:main:latest (repeatable)', collect)
    .option('--file <json>', 'rules as a JSON array')
    .option('--dockerfile <path>', 'Dockerfile of --rule rules, relative to the context')
    .option('--context <path>', 'build context of --rule rules')
    .option('--latest', '--rule rules also tag latest on the default branch', false)
    .option('--no-cache', 'build without the engine cache')
    .option('--manual-only', '--rule rules build only when asked', false)
    .action(async (repository: string, f: Flags) => {
      const rules = f.file
        ? (JSON.parse(readFileSync(String(f.file), 'utf8')) as BuildRule[])
        : ((f.rule as string[] | undefined) ?? []).map((r) =>
            ruleOf(r, { ...f, noCache: f.cache === false }),
          );
      if (rules.length === 0) throw new Error('give --rule or --file');
      await withBuilds(configFrom(f), async (s, actor) => {
        const current = await s.config(actor, repository);
        return s.link(actor, repository, { source: current.source, rules });
      });
      say(`${rules.length} rules set on ${repository}`);
    });
  withDataFlags(
    build.command('trigger <repository> <ref>').description('build a branch, tag or ref now'),
  )
    .option('--commit <sha>', 'this commit (else where the source has the ref now)')
    .option('--json', 'print JSON', false)
    .action(async (repository: string, ref: string, f: Flags) => {
      const queued = await withBuilds(configFrom(f), (s, actor) =>
        s.trigger(actor, repository, { ref, commit: f.commit as string | undefined }),
      );
      if (f.json) return say(JSON.stringify(queued));
      for (const b of queued)
        say(`queued build ${b.id}: ${b.tags.join(', ')} from ${b.commit.slice(0, 12)}`);
    });
  withDataFlags(build.command('list <repository>').description('the build history'))
    .option('--json', 'print JSON', false)
    .action(async (repository: string, f: Flags) => {
      const rows = await withBuilds(configFrom(f), (s, actor) =>
        s.history(actor.principal, repository),
      );
      const shown = rows.map((b) => ({
        ...b,
        tags: b.tags.join(','),
        commit: b.commit.slice(0, 12),
      }));
      printRows(
        shown as never,
        ['id', 'state', 'ref', 'commit', 'tags', 'durationSeconds', 'digest'],
        Boolean(f.json),
      );
    });
  withDataFlags(build.command('logs <id>').description("a build's log"))
    .option('-f, --follow', 'keep printing until the build ends', false)
    .action(async (id: string, f: Flags) => {
      let printed = 0;
      for (;;) {
        const b = await withBuilds(configFrom(f), (s, actor) => s.build(actor.principal, idOf(id)));
        if (b.log.length > printed) process.stdout.write(`${b.log.slice(printed)}\n`);
        printed = Math.max(printed, b.log.length + 1);
        if (!f.follow || (b.state !== 'queued' && b.state !== 'running')) {
          if (b.state === 'failed') process.exitCode = 1;
          return;
        }
        await new Promise((r) => setTimeout(r, 1_000));
      }
    });
  withDataFlags(
    build.command('cancel <id>').description('cancel a queued or running build'),
  ).action(async (id: string, f: Flags) => {
    const b = await withBuilds(configFrom(f), (s, actor) => s.cancel(actor, idOf(id)));
    say(`build ${b.id} is ${b.state === 'running' ? 'stopping' : b.state}`);
  });
}
