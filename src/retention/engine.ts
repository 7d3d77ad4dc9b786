/**
 * Running retention policies. A run judges each repository of the policy's scope: tags its rules
 * keep stay; of the rest, an immutable tag, a tag whose image is listed by a kept index, and one a
 * control-plane node runs are protected; the others are removed into the trash (each a
 * `retention.removed` event) — or, in a dry run, only listed. A trashed tag can be restored until
 * its window ends; then its manifest is deleted (when nothing else needs it) and garbage
 * collection frees the bytes.
 */
import type { Meta, RetentionPolicyRecord, TagFacts, TrashRecord } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import { recordChange, type ChangeContext, type EventSink } from '../registry/index.js';
import { imagesInUse, type ImagesInUse } from './images-in-use.js';
import { keepRules, keptTags } from './rules.js';

const DAY_MS = 86_400_000;

/** What a run did (or would do) in one repository. */
export interface RepositoryVerdict {
  repository: string;
  removed: { tag: string; digest: string }[];
  kept: { tag: string; reason: string }[];
  protected: { tag: string; reason: string }[];
}

/** What a run did (or, dry, would do). */
export interface RetentionReport {
  runId: number;
  policyId: number;
  dryRun: boolean;
  repositories: RepositoryVerdict[];
  removed: number;
  kept: number;
}

/** What the engine needs from the registry. */
export interface RetentionPorts {
  /** Whether an immutable-tag rule freezes `tag` of `repository`. */
  immutable(repository: string, tag: string): Promise<boolean>;
  /** Told which tags of a repository changed (the registry's read caches). */
  tagsChanged(repositoryId: number, tags: string[]): void;
  events: EventSink;
}

/** Runs policies, empties the trash, restores from it. */
export class RetentionEngine {
  constructor(
    private readonly meta: Meta,
    private readonly ports: RetentionPorts,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Runs `policy` (`dryRun`: lists what would go, removes nothing). */
  async run(
    policy: RetentionPolicyRecord,
    options: { dryRun: boolean; trigger: string; context?: ChangeContext },
  ): Promise<RetentionReport> {
    const startedAt = this.now();
    const runId = await this.meta.retention.startRun(
      policy.id,
      options.trigger,
      options.dryRun,
      startedAt,
    );
    const report: RetentionReport = {
      runId,
      policyId: policy.id,
      dryRun: options.dryRun,
      repositories: [],
      removed: 0,
      kept: 0,
    };
    try {
      const rules = keepRules.parse(policy.rules);
      const inUse = await imagesInUse(this.meta);
      for (const repository of await this.repositoriesOf(policy.scope)) {
        const repositoryId = await this.meta.repositories.find(repository);
        if (repositoryId === undefined) continue;
        const tags = await this.meta.retention.tagFacts(repositoryId);
        const verdict = await this.judge(
          repository,
          repositoryId,
          tags,
          keptTags(tags, rules, startedAt),
          inUse,
        );
        if (!options.dryRun && verdict.removed.length > 0)
          verdict.removed = await this.remove(
            policy,
            runId,
            repositoryId,
            repository,
            tags,
            verdict,
            options.context,
          );
        report.repositories.push(verdict);
        report.removed += verdict.removed.length;
        report.kept += verdict.kept.length + verdict.protected.length;
      }
      await this.meta.retention.finishRun(runId, {
        at: this.now(),
        removed: report.removed,
        kept: report.kept,
        report,
        error: null,
      });
      return report;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      await this.meta.retention.finishRun(runId, {
        at: this.now(),
        removed: report.removed,
        kept: report.kept,
        report,
        error,
      });
      throw err;
    }
  }

  private async repositoriesOf(scope: string): Promise<string[]> {
    if (!scope.endsWith('/')) return [scope];
    const namespace = scope.slice(0, -1);
    return (await this.meta.repositories.listInfo({ limit: 1_000_000, namespace })).map(
      (r) => r.name,
    );
  }

  private async judge(
    repository: string,
    repositoryId: number,
    tags: TagFacts[],
    kept: Map<string, string>,
    inUse: ImagesInUse,
  ): Promise<RepositoryVerdict> {
    const verdict: RepositoryVerdict = { repository, removed: [], kept: [], protected: [] };
    const keptDigests = tags.filter((t) => kept.has(t.tag)).map((t) => t.digest);
    const children = new Set(await this.meta.retention.childrenOf(repositoryId, keptDigests));
    for (const t of [...tags].sort((a, b) => a.tag.localeCompare(b.tag))) {
      const reason = kept.get(t.tag);
      if (reason !== undefined) {
        verdict.kept.push({ tag: t.tag, reason });
        continue;
      }
      const guard =
        ((await this.ports.immutable(repository, t.tag)) && 'immutable') ||
        (children.has(t.digest) && 'listed by a kept index') ||
        ((inUse.digests.has(t.digest) || inUse.references.has(`${repository}:${t.tag}`)) &&
          'run by a control-plane node') ||
        undefined;
      if (guard) verdict.protected.push({ tag: t.tag, reason: guard });
      else verdict.removed.push({ tag: t.tag, digest: t.digest });
    }
    return verdict;
  }

  /** Moves the verdict's tags to the trash (those still pointing where they did); the ones moved. */
  private async remove(
    policy: RetentionPolicyRecord,
    runId: number,
    repositoryId: number,
    repository: string,
    tags: TagFacts[],
    verdict: RepositoryVerdict,
    context?: ChangeContext,
  ): Promise<{ tag: string; digest: string }[]> {
    const at = this.now();
    const pushedAt = new Map(tags.map((t) => [t.tag, t.pushedAt]));
    const removed = await this.meta.writeTransaction(async (m) => {
      const done = [];
      for (const item of verdict.removed) {
        if ((await m.tags.resolve(repositoryId, item.tag)) !== item.digest) continue;
        await m.retention.trash({
          repositoryId,
          repository,
          tag: item.tag,
          digest: item.digest,
          runId,
          pushedAt: pushedAt.get(item.tag) ?? at,
          removedAt: at,
          restoreUntil: at + policy.restoreDays * DAY_MS,
        });
        await m.tags.delete(repositoryId, item.tag);
        await recordChange(
          m,
          'retention.removed',
          {
            repository,
            tag: item.tag,
            digest: item.digest,
            reason: `retention policy ${policy.id}`,
          },
          context,
        );
        done.push(item);
      }
      return done;
    });
    this.ports.tagsChanged(
      repositoryId,
      removed.map((r) => r.tag),
    );
    this.ports.events.committed();
    return removed;
  }

  /**
   * Empties the trash of what is past its restore window: the entry goes, and so does its manifest
   * when no tag, index or other trash entry still needs it (garbage collection then frees its
   * bytes). Returns how many entries went.
   */
  async purge(): Promise<number> {
    const expired = await this.meta.retention.trashed({ limit: 1_000, expiredBy: this.now() });
    for (const item of expired)
      await this.meta.writeTransaction(async (m) => {
        if (!(await m.retention.untrash(item.id))) return;
        const needed =
          (await m.tags.pointingAt(item.repositoryId, item.digest)).length > 0 ||
          (await m.manifests.parentsOf(item.repositoryId, item.digest)).length > 0 ||
          (await m.retention.inTrash(item.repositoryId, item.digest));
        if (!needed && (await m.manifests.delete(item.repositoryId, item.digest)))
          await recordChange(m, 'manifest.deleted', {
            repository: item.repository,
            digest: item.digest,
            reason: 'retention trash emptied',
          });
      });
    if (expired.length > 0) this.ports.events.committed();
    return expired.length;
  }

  /** Puts trashed tag `id` back where it pointed; CONFLICT when the tag was pushed again since. */
  async restore(id: number, context?: ChangeContext): Promise<TrashRecord> {
    const item = await this.meta.writeTransaction(async (m) => {
      const found = await m.retention.trashItem(id);
      if (!found) throw new BerthError('NOT_FOUND', `nothing in the trash with id ${id}`);
      if (!(await m.manifests.get(found.repositoryId, found.digest)))
        throw new BerthError('NOT_FOUND', `${found.repository}@${found.digest} is gone`);
      const now = await m.tags.resolve(found.repositoryId, found.tag);
      if (now !== undefined && now !== found.digest)
        throw new BerthError(
          'CONFLICT',
          `${found.repository}:${found.tag} was pushed again since; remove it first to restore`,
        );
      await m.tags.put(found.repositoryId, found.tag, found.digest, context?.actor ?? null);
      await m.retention.untrash(id);
      await recordChange(
        m,
        'retention.restored',
        { repository: found.repository, tag: found.tag, digest: found.digest },
        context,
      );
      return found;
    });
    this.ports.tagsChanged(item.repositoryId, [item.tag]);
    this.ports.events.committed();
    return item;
  }
}
