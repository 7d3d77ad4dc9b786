/**
 * Runs replication: queues executions (a push or a deleted tag through the outbox, a rule's
 * schedule, a request by hand), takes them one at a time from the database (so replicas never run
 * one twice), and copies each image with the image tools — whole indexes and manifests byte for
 * byte, blobs verified, what the other side has skipped — then its referrers; deletions
 * propagate when the rule says so. Each image is tried three times with backoff; progress, a log
 * and `replication.*` events record every execution.
 */
import {
  copyImage,
  NO_PROGRESS,
  RegistryClient,
  type Credentials,
  type Endpoint,
} from '../client/index.js';
import { CoalescedRunner, type SecretBox } from '../kit/index.js';
import type {
  Meta,
  OutboxEvent,
  ReplicationExecutionRecord,
  ReplicationItem,
  ReplicationRuleRecord,
} from '../meta/index.js';
import type { Logger } from '../obs/index.js';
import { repositoryMatches, ruleSettings, tagMatches, type RuleSettings } from './rules.js';
import { UpstreamClients } from './upstreams.js';

/** Berth itself as the local side of a copy. */
export interface LocalRegistry {
  /** `http(s)://host:port` Berth answers on, once listening. */
  base(): string | undefined;
  /** PEM CA of Berth's own TLS certificate, when it serves TLS. */
  ca?: string;
  /** A short-lived credential of `actAs` for `repository` (undefined without accounts). */
  credential(
    actAs: string,
    repository: string,
    level: 'read' | 'write',
  ): Promise<{ credentials: Credentials; revoke(): Promise<void> } | undefined>;
  /** Deletes tag `tag` of local `repository` (a propagated deletion). */
  deleteTag(repository: string, tag: string): Promise<void>;
}

const ATTEMPTS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs replication rules. */
export class Replicator {
  private readonly runner: CoalescedRunner;

  constructor(
    private readonly meta: Meta,
    private readonly box: SecretBox,
    private readonly local: LocalRegistry,
    private readonly logger: Logger,
    private readonly published: () => void,
  ) {
    this.runner = new CoalescedRunner(
      () => this.work(),
      (err) => logger.error({ err }, 'replication'),
    );
  }

  /** Looks for work every `pollMs` (and when notified). */
  start(pollMs = 1_000): void {
    this.runner.every(pollMs);
  }

  /** Stops looking for work, for good (a later notify does nothing), and waits for the one in hand. */
  async stop(): Promise<void> {
    await this.runner.stop();
  }

  /** Looks for work soon (never after `stop`). */
  notify(): void {
    this.runner.ask();
  }

  /**
   * The outbox consumer: a pushed tag or a deleted one queues an execution of each push rule
   * that covers it, in the consumer's transaction.
   */
  handler() {
    return async (tx: Meta, events: OutboxEvent[]): Promise<void> => {
      const wanted = events.filter(
        (e) => (e.type === 'manifest.pushed' || e.type === 'tag.deleted') && e.repository,
      );
      if (wanted.length === 0) return;
      const rules = (await tx.replication.rules()).filter((r) => r.enabled);
      for (const rule of rules) {
        const settings = ruleSettings.safeParse(rule.settings);
        if (!settings.success || settings.data.direction !== 'push' || !settings.data.onPush)
          continue;
        for (const e of wanted) {
          const tag = (e.target as { tag?: string }).tag;
          if (!tag || !repositoryMatches(settings.data, e.repository!)) continue;
          if (!tagMatches(settings.data, tag)) continue;
          if (e.type === 'tag.deleted' && !settings.data.propagateDeletes) continue;
          await tx.replication.queue(rule.id, e.type === 'tag.deleted' ? 'delete' : 'push', {
            repository: e.repository!,
            tag,
          });
        }
      }
    };
  }

  private async work(): Promise<void> {
    const now = Date.now();
    for (const rule of await this.meta.replication.rules()) {
      const settings = ruleSettings.safeParse(rule.settings);
      const every = settings.success ? settings.data.everySeconds : null;
      if (!rule.enabled || every === null || now - rule.lastRunAt < every * 1000) continue;
      await this.meta.writeTransaction(async (tx) => {
        await tx.replication.ran(rule.id, now);
        await tx.replication.queue(rule.id, 'schedule', null);
      });
    }
    for (;;) {
      const execution = await this.meta.writeTransaction((tx) => tx.replication.claim(Date.now()));
      if (!execution) return;
      await this.execute(execution);
    }
  }

  private async event(
    type: string,
    rule: ReplicationRuleRecord,
    e: ReplicationExecutionRecord,
    extra = {},
  ) {
    await this.meta.writeTransaction((tx) =>
      tx.outbox.append({
        at: Date.now(),
        type,
        repository: null,
        actor: { name: null, address: null, userAgent: null },
        target: { rule: rule.name, execution: e.id, trigger: e.trigger, ...extra },
        outcome: type === 'replication.failed' ? 'failure' : 'success',
      }),
    );
    this.published();
  }

  private async execute(execution: ReplicationExecutionRecord): Promise<void> {
    const rule = (await this.meta.replication.rules()).find((r) => r.id === execution.ruleId);
    if (!rule) return;
    let log = '';
    const say = (line: string) => {
      log += `${new Date().toISOString()} ${line}\n`;
    };
    const items: ReplicationItem[] = [];
    const save = (state?: ReplicationExecutionRecord['state']) =>
      this.meta.replication.progress(execution.id, {
        items,
        log,
        ...(state ? { state, finishedAt: Date.now() } : {}),
      });
    await this.event('replication.started', rule, execution);
    try {
      const settings = ruleSettings.parse(rule.settings);
      const upstreamRecord = (await this.meta.cache.upstreams()).find(
        (u) => u.name === settings.upstream,
      );
      if (!upstreamRecord) throw new Error(`the upstream ${settings.upstream} is gone`);
      const upstream = new UpstreamClients(upstreamRecord, this.box, 120_000);
      say(
        `rule ${rule.name}: ${settings.direction} ${settings.direction === 'push' ? 'to' : 'from'} ${settings.upstream} (${execution.trigger})`,
      );
      items.push(...(await this.plan(settings, upstream, execution)));
      say(`${items.length} image(s) to handle`);
      await save();
      for (const item of items) {
        for (item.attempts = 1; ; item.attempts++) {
          try {
            await this.handle(settings, upstream, item);
            item.state = 'done';
            say(
              `${item.action} ${item.repository}:${item.tag ?? item.digest}: done${item.digest ? ` (${item.digest})` : ''}`,
            );
            break;
          } catch (err) {
            item.error = (err as Error).message;
            say(
              `${item.action} ${item.repository}:${item.tag}: attempt ${item.attempts} failed: ${item.error}`,
            );
            if (item.attempts >= ATTEMPTS) {
              item.state = 'failed';
              break;
            }
            await sleep(1000 * 2 ** (item.attempts - 1));
          }
        }
        await save();
      }
      const failed = items.filter((i) => i.state === 'failed').length;
      await save(failed > 0 ? 'failed' : 'succeeded');
      await this.event(
        failed > 0 ? 'replication.failed' : 'replication.succeeded',
        rule,
        execution,
        {
          images: items.length,
          failed,
        },
      );
    } catch (err) {
      say(`failed: ${(err as Error).message}`);
      await save('failed');
      await this.event('replication.failed', rule, execution, { error: (err as Error).message });
    }
  }

  /** The images an execution handles. */
  private async plan(
    rule: RuleSettings,
    upstream: UpstreamClients,
    execution: ReplicationExecutionRecord,
  ): Promise<ReplicationItem[]> {
    const item = (repository: string, tag: string, action: 'copy' | 'delete'): ReplicationItem => ({
      repository,
      tag,
      digest: null,
      action,
      state: 'pending',
      bytes: 0,
      attempts: 0,
      error: null,
    });
    if (execution.only)
      return [
        item(
          execution.only.repository,
          execution.only.tag,
          execution.trigger === 'delete' ? 'delete' : 'copy',
        ),
      ];
    const out: ReplicationItem[] = [];
    const localTags = async (name: string) => {
      const id = await this.meta.repositories.find(name);
      return id === undefined ? [] : this.meta.tags.list(id, 10_000);
    };
    const remoteTags = (name: string) =>
      upstream
        .use((c) => c.tags(name))
        .catch((err: unknown) => {
          if ((err as { status?: number }).status === 404) return [] as string[];
          throw err;
        });
    if (rule.direction === 'push') {
      const repositories = (await this.meta.repositories.list(100_000)).filter((r) =>
        repositoryMatches(rule, r),
      );
      for (const repository of repositories) {
        const tags = (await localTags(repository)).filter((t) => tagMatches(rule, t));
        for (const tag of tags) out.push(item(repository, tag, 'copy'));
        if (rule.propagateDeletes) {
          const there = (await remoteTags(`${rule.destination}${repository}`)).filter((t) =>
            tagMatches(rule, t),
          );
          for (const tag of there.filter((t) => !tags.includes(t)))
            out.push(item(repository, tag, 'delete'));
        }
      }
    } else {
      const repositories = (await upstream.use((c) => c.catalog())).filter((r) =>
        repositoryMatches(rule, r),
      );
      for (const repository of repositories) {
        const tags = (await remoteTags(repository)).filter((t) => tagMatches(rule, t));
        for (const tag of tags) out.push(item(repository, tag, 'copy'));
        if (rule.propagateDeletes) {
          const here = (await localTags(`${rule.destination}${repository}`)).filter((t) =>
            tagMatches(rule, t),
          );
          for (const tag of here.filter((t) => !tags.includes(t)))
            out.push(item(repository, tag, 'delete'));
        }
      }
    }
    return out;
  }

  /** The local side as a client, with a credential for `repository`. */
  private async localClient(rule: RuleSettings, repository: string, level: 'read' | 'write') {
    const base = this.local.base();
    if (!base) throw new Error('Berth is not listening yet');
    const granted = await this.local.credential(rule.actAs, repository, level);
    const client = new RegistryClient(new URL(base).host, {
      base,
      ca: this.local.ca,
      credentials: granted?.credentials,
    });
    return { client, revoke: () => granted?.revoke() ?? Promise.resolve() };
  }

  /** Copies or deletes one image. */
  private async handle(
    rule: RuleSettings,
    upstream: UpstreamClients,
    item: ReplicationItem,
  ): Promise<void> {
    const push = rule.direction === 'push';
    const localName = push ? item.repository : `${rule.destination}${item.repository}`;
    const remoteName = push ? `${rule.destination}${item.repository}` : item.repository;
    if (item.action === 'delete') {
      if (push) {
        await upstream.use(async (c) => {
          // The tag alone where the registry can (OCI 1.1); else its manifest, by digest.
          try {
            await c.deleteManifest(remoteName, item.tag!);
          } catch {
            const head = await c.headManifest(remoteName, item.tag!);
            if (head?.digest) await c.deleteManifest(remoteName, head.digest);
          }
        });
      } else await this.local.deleteTag(localName, item.tag!);
      return;
    }
    const local = await this.localClient(rule, localName, push ? 'read' : 'write');
    try {
      await upstream.use(async (remote) => {
        const here: Endpoint = {
          client: local.client,
          ref: {
            registry: local.client.registry,
            repository: localName,
            tag: item.tag ?? undefined,
          },
        };
        const there: Endpoint = {
          client: remote,
          ref: { registry: remote.registry, repository: remoteName, tag: item.tag ?? undefined },
        };
        const [src, dst] = push ? [here, there] : [there, here];
        const copied = await copyImage(src, dst, { allPlatforms: true, progress: NO_PROGRESS });
        item.digest = copied.digest;
        item.bytes = copied.blobs.bytes;
        if (!rule.includeReferrers) return;
        for (const referrer of await src.client.referrers(src.ref.repository, copied.digest)) {
          const by = (e: Endpoint): Endpoint => ({
            client: e.client,
            ref: { ...e.ref, tag: undefined, digest: referrer.digest },
          });
          const r = await copyImage(by(src), by(dst), {
            allPlatforms: true,
            progress: NO_PROGRESS,
          });
          item.bytes += r.blobs.bytes;
        }
      });
    } finally {
      await local.revoke();
    }
  }
}
