/**
 * Serving a manifest to a client: the negotiated manifest, refused when the signed-tags policy
 * says the tag may not be pulled (the refusal recorded as a denied pull), and counted and recorded
 * as a pull once its body is sent.
 */
import type { Meta, ManifestRecord } from '../meta/index.js';
import { markAudited } from '../kit/index.js';
import { BerthError } from '../oci/index.js';
import { recordChange } from './change-events.js';
import type { ManifestService } from './manifests.js';
import type { PullCounter } from './pull-counter.js';
import type { CacheOutcome, ChangeContext, EventSink, PullGate, PullThrough } from './ports.js';

/** How a manifest is asked for. */
export interface PullRequest {
  accept?: string | string[];
  /** A HEAD request: checked, but not counted as a pull. */
  headOnly: boolean;
  context?: ChangeContext;
}

/** Serves manifests to clients under the pull gate, counting pulls. */
export class PullService {
  constructor(
    private readonly meta: Meta,
    private readonly manifests: ManifestService,
    private readonly counter: PullCounter,
    private readonly events: EventSink,
    private readonly gate?: PullGate,
    private readonly pullThrough: () => PullThrough | undefined = () => undefined,
  ) {}

  /** The manifest `reference` of `name` for a client; DENIED when the gate refuses the tag. */
  async pull(
    name: string,
    reference: string,
    request: PullRequest,
  ): Promise<ManifestRecord & { cache?: CacheOutcome; warning?: string }> {
    // A mirrored repository: the cache brings the manifest in (or says its copy is stale) first.
    const through = this.pullThrough();
    const cache =
      through && !through.readsLocally(name) ? await through.refresh(name, reference) : undefined;
    const record = await this.manifests.get(name, reference, request.accept);
    const tag = reference.includes(':') ? undefined : reference;
    const pulled = { tag, digest: record.digest, mediaType: record.mediaType, size: record.size };
    // Undefined at once when nothing is required of the repository, else a decision to wait for.
    const gating = tag !== undefined ? this.gate?.(name, tag, record.digest) : undefined;
    const verdict = gating && (await gating);
    if (verdict?.mode === 'enforce') {
      await this.meta.writeTransaction((tx) =>
        recordChange(
          tx,
          'manifest.pulled',
          { repository: name, ...pulled, reason: verdict.reason },
          request.context,
          { outcome: 'denied' },
        ),
      );
      this.events.committed();
      throw markAudited(
        new BerthError('DENIED', `denied: ${verdict.reason}`, { repository: name, tag }),
      );
    }
    if (verdict && !request.headOnly) {
      // warn and audit: served, and recorded as a pull the policy would have refused.
      await this.meta.writeTransaction((tx) =>
        recordChange(
          tx,
          'signature.unverified',
          { repository: name, ...pulled, reason: `${verdict.mode}: ${verdict.reason}` },
          request.context,
        ),
      );
      this.events.committed();
    }
    if (!request.headOnly) this.counter.count(name, pulled, request.context);
    const warning = verdict?.mode === 'warn' ? verdict.reason : undefined;
    if (!cache && !warning) return record;
    return { ...record, ...(cache ? { cache } : {}), ...(warning ? { warning } : {}) };
  }
}
