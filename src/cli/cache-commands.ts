/** `berth upstream …` and `berth cache …`: upstream registries and pull-through caches, on the data directory. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AuditLog } from '../events/index.js';
import { SecretBox } from '../kit/index.js';
import { createLogger } from '../obs/index.js';
import { CacheAdmin } from '../replication/index.js';
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
  return withDirectory(config, async (_auth, actor, meta) => {
    const audit = new AuditLog(meta, createLogger('warn'));
    const box = new SecretBox(masterKeyOf(config));
    const result = await work(new CacheAdmin(meta, box, audit, () => {}), actor);
    await audit.drain();
    return result;
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
}
