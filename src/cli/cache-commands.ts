/** `berth upstream …`, `berth cache …` and `berth replicate …`: upstream registries and pull-through caches, on the data directory. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SecretBox } from '../kit/index.js';
import { CacheAdmin, ReplicationAdmin } from '../replication/index.js';
import { masterKeyOf } from './compose.js';
import {
  printRows,
  readStdinSecret,
  say,
  withDataFlags,
  withDirectory,
  type ConfigFrom,
} from './directory.js';

type Flags = { config?: string; data?: string; json?: boolean } & Record<string, unknown>;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Runs `work` with the cache administration over the data directory (its audit entries written). */
function withCache<T>(
  configFrom: ConfigFrom,
  f: Flags,
  work: (admin: CacheAdmin, actor: Parameters<CacheAdmin['upstreams']>[0]) => Promise<T>,
): Promise<T> {
  const config = configFrom(f);
  return withDirectory(config, async (_auth, actor, meta, audit) => {
    const box = new SecretBox(masterKeyOf(config));
    return work(new CacheAdmin(meta, box, audit, () => {}), actor);
  });
}

/** Adds the upstream and cache commands to `program`. */
export function registerCacheCommands(program: Command, configFrom: ConfigFrom): void {
  const upstream = program.command('upstream').description('upstream registries');
  withDataFlags(
    upstream.command('add <name>').description('save an upstream (URLs tried in order)'),
  )
    .requiredOption('--url <url>', 'http(s)://host[:port] (repeatable: fall-backs)', collect)
    .option('--username <name>', 'the account to pull as')
    .option('--password-stdin', 'read its password from standard input', false)
    .option('--ca-file <file>', 'PEM CA of its TLS certificate')
    .option('--bandwidth <bytes>', 'bytes a second the cache may fetch')
    .action(async (name: string, f: Flags) => {
      const password = f.passwordStdin ? await readStdinSecret() : undefined;
      await withCache(configFrom, f, (admin, actor) =>
        admin.putUpstream(actor, name, {
          urls: f.url as string[],
          ...(f.username ? { username: String(f.username) } : {}),
          ...(password !== undefined ? { password } : {}),
          ca: f.caFile ? readFileSync(String(f.caFile), 'utf8') : null,
          bandwidth: f.bandwidth ? Number(f.bandwidth) : null,
        }),
      );
      say(`upstream ${name} saved`);
    });
  withDataFlags(upstream.command('ls').description('the upstreams'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const rows = await withCache(configFrom, f, (admin, actor) => admin.upstreams(actor));
      printRows(
        rows.map((u) => ({ ...u, urls: u.urls.join(',') })),
        ['name', 'urls', 'username', 'hasPassword', 'bandwidth'],
        Boolean(f.json),
      );
    });
  withDataFlags(
    upstream.command('test <name>').description('check it answers and takes the credentials'),
  ).action(async (name: string, f: Flags) => {
    const result = await withCache(configFrom, f, (admin, actor) =>
      admin.testUpstream(actor, name),
    );
    if (result.ok) say(`${name}: answers at ${result.url}`);
    else throw new Error(`${name}: ${result.error}`);
  });
  withDataFlags(upstream.command('rm <name>').description('remove an upstream')).action(
    async (name: string, f: Flags) => {
      await withCache(configFrom, f, (admin, actor) => admin.removeUpstream(actor, name));
      say(`upstream ${name} removed`);
    },
  );

  const cache = program.command('cache').description('pull-through cache namespaces');
  withDataFlags(
    cache.command('add <namespace>').description('make a namespace a pull-through cache'),
  )
    .requiredOption('--upstream <name>', 'the upstream it mirrors')
    .option('--prefix <prefix>', 'put before names upstream (library/)', '')
    .option('--freshness <seconds>', 'serve a cached tag this long before checking upstream', '300')
    .option('--local-first', 'never ask upstream about a tag already cached', false)
    .option('--mirror', "also answer the Docker engine's registry-mirrors requests", false)
    .action(async (namespace: string, f: Flags) => {
      await withCache(configFrom, f, (admin, actor) =>
        admin.putNamespace(actor, namespace, {
          upstream: String(f.upstream),
          upstreamPrefix: String(f.prefix),
          freshness: Number(f.freshness),
          localFirst: Boolean(f.localFirst),
          mirror: Boolean(f.mirror),
        }),
      );
      say(`${namespace}/ caches ${String(f.upstream)}`);
    });
  withDataFlags(cache.command('ls').description('the cache namespaces'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const rows = await withCache(configFrom, f, (admin, actor) => admin.namespaces(actor));
      printRows(
        rows as never,
        ['namespace', 'upstream', 'upstreamPrefix', 'freshness', 'localFirst', 'mirror'],
        Boolean(f.json),
      );
    });
  withDataFlags(cache.command('rm <namespace>').description('stop caching a namespace')).action(
    async (namespace: string, f: Flags) => {
      await withCache(configFrom, f, (admin, actor) => admin.removeNamespace(actor, namespace));
      say(`${namespace}/ is no longer a cache`);
    },
  );

  replicateCommands(program, configFrom);
}

/** `berth replicate …`: replication rules and executions on the data directory. */
function replicateCommands(program: Command, configFrom: ConfigFrom): void {
  const withRules = <T>(
    f: Flags,
    work: (admin: ReplicationAdmin, actor: Parameters<ReplicationAdmin['rules']>[0]) => Promise<T>,
  ) => {
    const config = configFrom(f);
    return withDirectory(config, (_auth, actor, meta, audit) =>
      work(new ReplicationAdmin(meta, audit, () => {}), actor),
    );
  };
  const replicate = program
    .command('replicate')
    .description('replication rules (push to or pull from an upstream)');
  withDataFlags(replicate.command('add <name>').description('save a rule'))
    .requiredOption('--direction <push|pull>', 'push to the upstream, or pull from it')
    .requiredOption('--upstream <name>', 'the upstream')
    .option('--repo <glob>', 'repositories (repeatable; default all)', collect)
    .option('--tags <regex>', 'only tags matching')
    .option('--semver <range>', 'only tags in this semver range')
    .option('--exclude <regex>', 'never tags matching (repeatable)', collect)
    .option('--destination <prefix>', 'put before names on the other side (mirror/)', '')
    .option('--no-referrers', 'leave signatures, SBOMs and other referrers behind')
    .option('--propagate-deletes', 'delete tags the source no longer has', false)
    .option('--no-on-push', 'do not run when a tag is pushed')
    .option('--every <seconds>', 'also run on this schedule')
    .option('--as <user>', 'the account the local side acts as', 'admin')
    .action(async (name: string, f: Flags) => {
      await withRules(f, (admin, actor) =>
        admin.putRule(actor, name, {
          direction: f.direction,
          upstream: f.upstream,
          ...(f.repo ? { repositories: f.repo } : {}),
          tags: {
            ...(f.tags ? { include: f.tags } : {}),
            ...(f.semver ? { semver: f.semver } : {}),
            exclude: (f.exclude as string[] | undefined) ?? [],
          },
          destination: f.destination,
          includeReferrers: f.referrers !== false,
          propagateDeletes: Boolean(f.propagateDeletes),
          onPush: f.onPush !== false,
          everySeconds: f.every ? Number(f.every) : null,
          actAs: f.as,
        }),
      );
      say(`rule ${name} saved`);
    });
  withDataFlags(replicate.command('ls').description('the rules'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const rules = await withRules(f, (admin, actor) => admin.rules(actor));
      printRows(
        rules.map((r) => ({ ...r.settings, name: r.name, enabled: r.enabled })),
        ['name', 'direction', 'upstream', 'repositories', 'enabled'],
        Boolean(f.json),
      );
    });
  withDataFlags(
    replicate.command('run <name>').description('run a rule now (the server picks it up)'),
  ).action(async (name: string, f: Flags) => {
    const { execution } = await withRules(f, (admin, actor) => admin.run(actor, name));
    say(`execution ${execution} queued`);
  });
  withDataFlags(replicate.command('rm <name>').description('remove a rule')).action(
    async (name: string, f: Flags) => {
      await withRules(f, (admin, actor) => admin.removeRule(actor, name));
      say(`rule ${name} removed`);
    },
  );
  withDataFlags(replicate.command('executions [rule]').description('executions, newest first'))
    .option('--json', 'print JSON', false)
    .action(async (rule: string | undefined, f: Flags) => {
      const list = await withRules(f, (admin, actor) => admin.executions(actor, rule));
      printRows(
        list.map((e) => ({
          ...e,
          images: e.items.length,
          failed: e.items.filter((i) => i.state === 'failed').length,
        })),
        ['id', 'trigger', 'state', 'images', 'failed'],
        Boolean(f.json),
      );
    });
  withDataFlags(replicate.command('log <execution>').description("an execution's log")).action(
    async (id: string, f: Flags) => {
      const e = await withRules(f, (admin, actor) => admin.execution(actor, Number(id)));
      process.stdout.write(e.log);
    },
  );
}
