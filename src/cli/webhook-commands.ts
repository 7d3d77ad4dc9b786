/** `berth webhook …`: webhooks and their delivery log, on the data directory. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Actor } from '../auth/index.js';
import type { BerthConfig } from '../config/index.js';
import {
  WebhookDispatcher,
  WebhookSealing,
  type EventType,
  type PayloadFormat,
  type WebhookFilters,
} from '../events/index.js';
import { SecretBox } from '../kit/index.js';
import { WebhookService, type WebhookScope } from '../manage/index.js';
import { createCliLogger } from '../obs/index.js';
import { berthVersion, masterKeyOf } from './compose.js';
import { destinationRulesOf, dispatchSettingsOf } from './compose-settings.js';
import {
  printRows,
  readStdinSecret,
  say,
  withDataFlags,
  withDirectory,
  type ConfigFrom,
} from './directory.js';

type Flags = Record<string, unknown> & { config?: string; data?: string; json?: boolean };

/** Opens the data directory, runs `work` with the webhook service as the local operator. */
function withWebhooks<T>(
  config: BerthConfig,
  work: (service: WebhookService, actor: Actor) => Promise<T>,
): Promise<T> {
  return withDirectory(config, (auth, actor, meta) => {
    const masterKey = masterKeyOf(config);
    const sealing = new WebhookSealing(new SecretBox(masterKey), masterKey);
    const settings = dispatchSettingsOf(config, berthVersion());
    // Test sends go out from here; queued deliveries are the running server's to make.
    const dispatcher = new WebhookDispatcher(meta, sealing, settings, createCliLogger());
    const service = new WebhookService(meta, auth, sealing, destinationRulesOf(config), {
      attempt: (hook, delivery, retry) => dispatcher.attempt(hook, delivery, retry),
      notify: () => undefined,
    });
    return work(service, actor);
  });
}

function scopeOf(f: Flags): WebhookScope {
  const chosen = [f.repo, f.namespace, f.global].filter(Boolean).length;
  if (chosen !== 1) throw new Error('choose one of --repo NAME, --namespace NAME or --global');
  if (f.repo) return { kind: 'repository', name: String(f.repo) };
  if (f.namespace) return { kind: 'namespace', name: String(f.namespace) };
  return { kind: 'global', name: '' };
}

const list = (v: unknown): string[] | undefined =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

function filtersOf(f: Flags): WebhookFilters {
  const out: WebhookFilters = {};
  if (typeof f.repositories === 'string') out.repositories = f.repositories;
  if (typeof f.tags === 'string') out.tags = f.tags;
  if (f.mediaTypes) out.mediaTypes = list(f.mediaTypes);
  if (f.excludeActors) out.excludeActors = list(f.excludeActors);
  return out;
}

function headersOf(values: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of (values as string[] | undefined) ?? []) {
    const at = h.indexOf('=');
    if (at < 1) throw new Error(`--header takes NAME=VALUE, not ${h}`);
    out[h.slice(0, at)] = h.slice(at + 1);
  }
  return out;
}

function idOf(value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`a webhook id is a number, not ${value}`);
  return Number(value);
}

const scopeFlags = (cmd: Command): Command =>
  cmd
    .option('--repo <name>', 'one repository')
    .option('--namespace <name>', 'every repository of a user or organisation')
    .option('--global', 'everything (administrators)', false);

/** Registers `berth webhook add|list|rm|test|deliveries|redeliver|rotate-secret`. */
export function registerWebhookCommands(program: Command, configFrom: ConfigFrom): void {
  const hook = program.command('webhook').description('webhooks and their delivery log');
  withDataFlags(scopeFlags(hook.command('add').description('add a webhook')))
    .requiredOption('--url <url>', 'where deliveries are POSTed')
    .option('--format <format>', 'hub, distribution or cloudevents', 'hub')
    .option('--events <types>', 'comma-separated event types', 'manifest.pushed')
    .option('--secret-stdin', 'read the signing secret (whsec_…) from standard input', false)
    .option('--repositories <glob>', 'only repositories matching this glob')
    .option('--tags <regex>', 'only tags matching this regular expression')
    .option('--media-types <types>', 'only these media types (comma-separated)')
    .option('--exclude-actors <names>', 'not changes by these accounts (comma-separated)')
    .option('--header <name=value...>', 'a custom header (repeatable)')
    .option('--ca-file <pem>', 'trust this CA certificate for the endpoint')
    .option('--description <text>', 'a note')
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const secret = f.secretStdin ? await readStdinSecret() : undefined;
      const created = await withWebhooks(configFrom(f), (service, actor) =>
        service.create(actor, scopeOf(f), {
          url: String(f.url),
          format: f.format as PayloadFormat,
          events: list(f.events) as EventType[],
          filters: filtersOf(f),
          secret,
          headers: headersOf(f.header),
          caCert: typeof f.caFile === 'string' ? readFileSync(f.caFile, 'utf8') : null,
          description: (f.description as string | undefined) ?? null,
        }),
      );
      if (f.json) return say(JSON.stringify(created));
      say(`created webhook ${created.webhook.id}`);
      if (!secret) say(`signing secret (shown once): ${created.secret}`);
    });
  withDataFlags(scopeFlags(hook.command('list').description('list the webhooks of a scope')))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const hooks = await withWebhooks(configFrom(f), (s, actor) => s.list(actor, scopeOf(f)));
      const rows = hooks.map((h) => ({ ...h, events: h.events.join(',') }));
      printRows(rows as never, ['id', 'url', 'format', 'events', 'enabled'], Boolean(f.json));
    });
  withDataFlags(hook.command('rm <id>').description('delete a webhook and its log')).action(
    async (id: string, f: Flags) => {
      await withWebhooks(configFrom(f), (s, actor) => s.remove(actor, idOf(id)));
      say(`deleted webhook ${id}`);
    },
  );
  withDataFlags(hook.command('test <id>').description('send a test event now'))
    .option('--json', 'print JSON', false)
    .action(async (id: string, f: Flags) => {
      const result = await withWebhooks(configFrom(f), (s, actor) => s.test(actor, idOf(id)));
      if (f.json) say(JSON.stringify(result));
      else say(`${result.state}: ${result.status ?? result.error} in ${result.latencyMs} ms`);
      if (result.state !== 'succeeded') process.exitCode = 1;
    });
  withDataFlags(hook.command('deliveries <id>').description('show the delivery log'))
    .option('--state <state>', 'pending, succeeded or dead')
    .option('--json', 'print JSON', false)
    .action(async (id: string, f: Flags) => {
      const rows = await withWebhooks(configFrom(f), (s, actor) =>
        s.deliveries(actor, idOf(id), { state: f.state as 'pending' | undefined }),
      );
      printRows(
        rows as never,
        ['id', 'eventType', 'state', 'attempts', 'lastStatus', 'createdAt'],
        Boolean(f.json),
      );
    });
  withDataFlags(
    hook
      .command('redeliver <id> [delivery]')
      .description('queue one delivery again, or every dead-lettered one'),
  ).action(async (id: string, delivery: string | undefined, f: Flags) => {
    const n = await withWebhooks(configFrom(f), (s, actor) =>
      s.redeliver(actor, idOf(id), delivery === undefined ? undefined : idOf(delivery)),
    );
    say(`queued ${n} deliveries again`);
  });
  withDataFlags(hook.command('rotate-secret <id>').description('sign with a new secret'))
    .option('--secret-stdin', 'read the new secret from standard input', false)
    .option('--overlap <seconds>', 'how long the old secret keeps signing', '86400')
    .action(async (id: string, f: Flags) => {
      const secret = f.secretStdin ? await readStdinSecret() : undefined;
      const result = await withWebhooks(configFrom(f), (s, actor) =>
        s.rotateSecret(actor, idOf(id), { secret, overlapSeconds: Number(f.overlap) }),
      );
      say(secret ? 'rotated' : `new signing secret (shown once): ${result.secret}`);
    });
}
