/**
 * Quotas as the registry enforces them. Storage is checked when a blob or manifest arrives, inside
 * the write transaction that links it (Berth's write transactions are serialised, so concurrent
 * pushes into one namespace can never together go over a hard limit), against usage measured by
 * distinct digest: a blob the scope already holds adds nothing. Crossing a soft limit records a
 * `quota.warning` event. Repository and tag counts are checked where repositories and tags are
 * created. Quotas are re-read at most every two seconds; usage is always read live.
 */
import type { Meta, QuotaKind, QuotaRecord } from '../meta/index.js';
import { formatBytes } from '../kit/index.js';
import { BerthError } from '../oci/index.js';
import type { Readable } from 'node:stream';
import { recordChange } from './change-events.js';
import { bounded } from './upload-limits.js';
import type { ChangeContext } from './ports.js';

const RECHECK_MS = 2_000;

/** How a quota names itself in messages: `namespace acme`, `the registry`. */
export function quotaLabel(kind: QuotaKind, scope: string): string {
  return kind === 'global' ? 'the registry' : `${kind} ${scope}`;
}

/** The tightest hard storage limit on a repository and the room left under it. */
export interface Headroom {
  room: number;
  used: number;
  limit: number;
  /** How the quota names itself (`namespace acme`). */
  quota: string;
}

/** Whether quota `q` covers repository `repository`. */
function covers(q: QuotaRecord, repository: string): boolean {
  if (q.kind === 'global') return true;
  if (q.kind === 'repository') return q.scope === repository;
  return repository.startsWith(`${q.scope}/`);
}

/** DENIED when one more repository `name` would pass a repository-count quota among `quotas`. */
async function admitRepositoryUnder(m: Meta, quotas: QuotaRecord[], name: string): Promise<void> {
  for (const q of quotas) {
    if (q.repositoriesMax === null || q.kind === 'repository') continue;
    const { repositories } = await m.quotas.counts(q.kind, q.scope);
    if (repositories + 1 > q.repositoriesMax)
      throw new BerthError(
        'DENIED',
        `quota exceeded: ${quotaLabel(q.kind, q.scope)} holds ${repositories} of its ${q.repositoriesMax} repositories; ${name} would be one more`,
        { quota: quotaLabel(q.kind, q.scope), used: repositories, limit: q.repositoriesMax },
      );
  }
}

/**
 * Inside the write transaction `m` that creates repository `name` (a first push, or one made
 * through the management API): DENIED when it would pass a repository-count quota.
 */
export async function admitNewRepository(m: Meta, name: string): Promise<void> {
  const quotas = (await m.quotas.list()).filter((q) => covers(q, name));
  await admitRepositoryUnder(m, quotas, name);
}

/** Enforces quotas for the registry's writes. */
export class QuotaGuard {
  private quotas: QuotaRecord[] = [];
  private loadedAt = 0;

  constructor(private readonly meta: Meta) {}

  /** Forgets the quotas read (after a change in this process). */
  invalidate(): void {
    this.loadedAt = 0;
  }

  /** The quotas covering `repository` (read before a write transaction, never inside one). */
  async covering(repository: string): Promise<QuotaRecord[]> {
    if (Date.now() - this.loadedAt > RECHECK_MS) {
      this.quotas = await this.meta.quotas.list();
      this.loadedAt = Date.now();
    }
    return this.quotas.filter((q) => covers(q, repository));
  }

  /**
   * The tightest hard storage limit on `repository` and what is left under it (undefined when none
   * applies, or when every limited scope already holds `digest`): lets an upload be refused while it
   * streams, before the exact check at completion.
   */
  async headroom(repository: string, digest?: string): Promise<Headroom | undefined> {
    let tightest: Headroom | undefined;
    for (const q of await this.covering(repository)) {
      if (q.storageHard === null) continue;
      if (digest !== undefined && (await this.meta.quotas.holds(q.kind, q.scope, digest))) continue;
      const used = await this.meta.quotas.logical(q.kind, q.scope);
      const room = q.storageHard - used;
      if (!tightest || room < tightest.room)
        tightest = { room, used, limit: q.storageHard, quota: quotaLabel(q.kind, q.scope) };
    }
    return tightest;
  }

  /** DENIED: `quota` (using `used` of `limit`) has no room for `adds` more bytes. */
  /**
   * `body`, refused (DENIED) once an upload already holding `held` bytes would hold more than
   * `room` (what a hard storage limit leaves the blob) allows, so an upload over quota stops while
   * it streams; `body` itself when no limit applies.
   */
  static bounding(
    room: Headroom | undefined,
    held: number,
    body: Readable,
    length: number | undefined,
  ): Readable {
    if (room === undefined) return body;
    const refusal = (size: number) =>
      QuotaGuard.refusal(room.quota, room.used, room.limit, size - held);
    if (length !== undefined && held + length > room.room) throw refusal(held + length);
    return bounded(body, Math.max(0, room.room - held), (seen) => refusal(held + seen));
  }

  static refusal(
    quota: string,
    used: number,
    limit: number,
    adds: number,
    what = 'this upload',
    atLeast = false,
  ): BerthError {
    return new BerthError(
      'DENIED',
      `quota exceeded: ${quota} uses ${formatBytes(used)} of its ${formatBytes(limit)} storage limit, and ${what} would add ${atLeast ? 'more than ' : ''}${formatBytes(adds)}`,
      { quota, used, limit, adds },
    );
  }

  /**
   * Inside the write transaction `m` that is about to link blob or manifest `digest` (`size`
   * bytes) into `repository`: DENIED naming the quota, its use and its limit when a hard limit
   * would be exceeded; a `quota.warning` event when a soft limit is crossed.
   */
  async admitBytes(
    m: Meta,
    quotas: QuotaRecord[],
    repository: string,
    digest: string,
    size: number,
    context?: ChangeContext,
  ): Promise<void> {
    for (const q of quotas) {
      if (q.storageHard === null && q.storageSoft === null) continue;
      if (await m.quotas.holds(q.kind, q.scope, digest)) continue;
      const used = await m.quotas.logical(q.kind, q.scope);
      const after = used + size;
      if (q.storageHard !== null && after > q.storageHard)
        throw QuotaGuard.refusal(
          quotaLabel(q.kind, q.scope),
          used,
          q.storageHard,
          size,
          digest.slice(0, 19),
        );
      if (q.storageSoft !== null && used <= q.storageSoft && after > q.storageSoft)
        await recordChange(
          m,
          'quota.warning',
          {
            repository,
            digest,
            size: after,
            reason: `${quotaLabel(q.kind, q.scope)} uses ${formatBytes(after)}, over its soft limit of ${formatBytes(q.storageSoft)}`,
          },
          context,
        );
    }
  }

  /**
   * Inside a write transaction: the id of repository `name`, created when new unless a quota's
   * repository count refuses it (DENIED).
   */
  async ensureRepository(m: Meta, quotas: QuotaRecord[], name: string): Promise<number> {
    const existing = await m.repositories.find(name);
    if (existing !== undefined) return existing;
    await admitRepositoryUnder(m, quotas, name);
    return m.repositories.ensure(name);
  }

  /** Inside a write transaction: DENIED when `added` new tags in `repository` exceed a tag quota. */
  async admitTags(
    m: Meta,
    quotas: QuotaRecord[],
    repository: string,
    added: number,
  ): Promise<void> {
    if (added === 0) return;
    for (const q of quotas) {
      if (q.tagsMax === null) continue;
      const usage = await m.quotas.counts(q.kind, q.scope);
      if (usage.tags + added > q.tagsMax)
        throw new BerthError(
          'DENIED',
          `quota exceeded: ${quotaLabel(q.kind, q.scope)} holds ${usage.tags} of its ${q.tagsMax} tags; ${repository} would add ${added}`,
          { quota: quotaLabel(q.kind, q.scope), used: usage.tags, limit: q.tagsMax },
        );
    }
  }
}
