/**
 * Recording pulls off the manifest-GET hot path: counts per repository (and last pull per tag)
 * and `manifest.pulled` events, written together in batches every few seconds (or sooner when
 * many pulls wait). Pulls of the same image by the same client (account, address, user agent)
 * within one batch are one event with their `count` and the last one's time (`lastAt`): a
 * client pulling in a loop does not write an event, an audit entry and a webhook delivery per
 * request. A pull changes nothing, so a crash may lose the last few seconds of them; every
 * change, by contrast, writes its event in its own transaction.
 */
import type { Meta, PullCounts } from '../meta/index.js';
import { changeEvent } from './change-events.js';
import type { ChangeContext, EventSink } from './ports.js';

interface PullEvent {
  repository: string;
  tag?: string;
  digest: string;
  mediaType: string;
  size: number;
  context: ChangeContext;
  at: number;
  count: number;
  lastAt: number;
}

/** What a key holds where a field is absent (no name, address or agent contains it). */
const ABSENT = '\u0001';

/**
 * Pulls with the same key are the same image pulled by the same client: the fields joined by a
 * character none of them contains (names, digests and media types are restricted; addresses and
 * user agents are header text, which cannot hold control characters).
 */
function pullKey(
  repository: string,
  pulled: { tag?: string; digest: string; mediaType: string },
  context: ChangeContext,
): string {
  return `${repository}\0${pulled.tag ?? ABSENT}\0${pulled.digest}\0${pulled.mediaType}\0${context.actor ?? ABSENT}\0${context.address ?? ABSENT}\0${context.userAgent ?? ABSENT}\0${context.registry ?? ABSENT}\0${context.origin ?? ABSENT}`;
}

/** Counts manifest pulls and records their events, flushing every few seconds. */
export class PullCounter {
  private pending = new Map<string, PullCounts>();
  private events = new Map<string, PullEvent>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly meta: Meta,
    private readonly sink: EventSink,
    private readonly intervalMs = 5_000,
    private readonly onError: (err: unknown) => void = () => {},
    /**
     * Distinct pull events (image and client) held before a flush is started early. Pulls of an
     * image by a client already held only count up: a busy client costs no extra writes.
     */
    private readonly maxHeld = 1_000,
  ) {}

  /** Records one pull of `repository` (by `tag` when pulled by tag) of the manifest `digest`. */
  count(
    repository: string,
    pulled: { tag?: string; digest: string; mediaType: string; size: number },
    context: ChangeContext = {},
  ): void {
    const now = Date.now();
    const repo = this.pending.get(repository);
    if (repo) {
      repo.count += 1;
      repo.at = now;
    } else this.pending.set(repository, { repository, count: 1, at: now });
    if (pulled.tag !== undefined) {
      const tagKey = `${repository}:${pulled.tag}`;
      const tagged = this.pending.get(tagKey);
      if (tagged) tagged.at = now;
      else this.pending.set(tagKey, { repository, tag: pulled.tag, count: 1, at: now });
    }
    const key = pullKey(repository, pulled, context);
    const same = this.events.get(key);
    if (same) {
      same.count += 1;
      same.lastAt = now;
    } else this.events.set(key, { repository, ...pulled, context, at: now, count: 1, lastAt: now });
    if (this.events.size >= this.maxHeld) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes what was counted; resolves when written. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    const events = [...this.events.values()];
    this.pending = new Map();
    this.events = new Map();
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing
      .then(async () => {
        await this.meta.writeTransaction(async (tx) => {
          await tx.catalog.recordPulls(batch);
          await tx.outbox.appendMany(
            events.map(({ context, at, count, lastAt, ...target }) =>
              changeEvent(
                'manifest.pulled',
                count > 1 ? { ...target, count, lastAt } : target,
                context,
                { at },
              ),
            ),
          );
        });
        this.sink.committed();
      })
      .catch(this.onError);
    return this.flushing;
  }
}
