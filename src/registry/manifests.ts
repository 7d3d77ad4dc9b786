/** Pushing, pulling and deleting manifests and tags, and the referrers of a manifest. */
import { ImmutableTags } from './immutable-tags.js';
import {
  BerthError,
  digestOf,
  isIndexMediaType,
  manifestAcceptance,
  isValidTag,
  manifestTypeForIndex,
  parseManifest,
  parseManifestReference,
  type Descriptor,
  type Digest,
  type ManifestReference,
  type ParsedManifest,
} from '../oci/index.js';
import type { ManifestRecord, Meta } from '../meta/index.js';
import { changeEvent, recordChange } from './change-events.js';
import type { ChangeContext, EventSink } from './ports.js';
import type { ReadCache } from './read-cache.js';
import type { QuotaGuard } from './quota-guard.js';

/** The outcome of a manifest push. */
export interface PushedManifest {
  digest: string;
  subject?: string;
  /** The tags now pointing at it. */
  tags: string[];
}

/**
 * A reference to read or delete: one that is neither a valid tag nor a valid digest cannot name
 * a stored manifest, so it is MANIFEST_UNKNOWN (404), not a malformed request.
 */
function existingReference(name: string, reference: string): ManifestReference {
  try {
    return parseManifestReference(reference);
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    throw new BerthError(
      'MANIFEST_UNKNOWN',
      `manifest ${reference.slice(0, 200)} is not in ${name}`,
      {
        name,
        reference: reference.slice(0, 200),
      },
    );
  }
}

/** Stores and serves manifests. */
export class ManifestService {
  constructor(
    private readonly meta: Meta,
    private readonly events: EventSink,
    private readonly cache: ReadCache,
    private readonly immutable?: ImmutableTags,
    private readonly quotas?: QuotaGuard,
  ) {}

  /**
   * Validates and stores a manifest pushed to `name` under `reference` (a tag or its digest),
   * recording who pushed it when known. `options.tags` are applied in the same transaction (the
   * spec's `?tag=`); `options.algorithm` digests a manifest pushed by tag (default sha256).
   */
  async put(
    name: string,
    reference: string,
    bytes: Buffer,
    contentType?: string,
    pushedBy: string | null = null,
    options: {
      tags?: string[];
      algorithm?: Digest['algorithm'];
      context?: ChangeContext;
      /**
       * A pull-through cache storing what its upstream serves: the blobs and child manifests it
       * names come in when first asked for, and no push event is recorded.
       */
      cached?: boolean;
    } = {},
  ): Promise<PushedManifest> {
    const ref = parseManifestReference(reference);
    const extra = options.tags ?? [];
    const invalid = extra.find((tag) => !isValidTag(tag));
    if (invalid !== undefined)
      throw new BerthError('TAG_INVALID', `invalid tag: ${JSON.stringify(invalid).slice(0, 200)}`);
    const tags = [...new Set([...(ref.kind === 'tag' ? [ref.tag] : []), ...extra])];
    const parsed = parseManifest(bytes, contentType);
    const digest = digestOf(
      bytes,
      ref.kind === 'digest' ? ref.digest.algorithm : (options.algorithm ?? 'sha256'),
    );
    if (ref.kind === 'digest' && ref.digest.value !== digest) {
      throw new BerthError(
        'DIGEST_INVALID',
        `manifest has digest ${digest}, not ${ref.digest.value}`,
        { expected: ref.digest.value, actual: digest },
      );
    }
    // The rules are read before the transaction (a read inside it would wait for its lock).
    const frozen = await Promise.all(tags.map((tag) => this.immutable?.ruleFor(name, tag)));
    // A pull-through cache manages its own space; quotas bound what clients push.
    const quotas = (!options.cached && (await this.quotas?.covering(name))) || [];
    const repositoryId = await this.meta.writeTransaction(async (m) => {
      const repositoryId = this.quotas
        ? await this.quotas.ensureRepository(m, quotas, name)
        : await m.repositories.ensure(name);
      if (!options.cached) await this.checkReferences(m, repositoryId, parsed);
      if (this.quotas && quotas.length > 0) {
        await this.quotas.admitBytes(m, quotas, name, digest, bytes.byteLength, options.context);
        let added = 0;
        for (const tag of tags)
          if ((await m.tags.resolve(repositoryId, tag)) === undefined) added++;
        await this.quotas.admitTags(m, quotas, name, added);
      }
      // An immutable tag is set once: pushing the same manifest again is fine, moving it is not.
      for (const [i, tag] of tags.entries()) {
        const rule = frozen[i];
        if (rule && ((await m.tags.resolve(repositoryId, tag)) ?? digest) !== digest)
          throw new BerthError('DENIED', ImmutableTags.reason(name, tag, rule), { tag });
      }
      const pushed = { repository: name, digest, mediaType: parsed.mediaType, size: bytes.length };
      await m.manifestCommits.record({
        repositoryId,
        manifest: {
          digest,
          mediaType: parsed.mediaType,
          artifactType: parsed.artifactType ?? null,
          subject: parsed.subject?.digest ?? null,
          annotations: parsed.annotations ?? null,
          size: bytes.byteLength,
          content: bytes,
        },
        links: { blobs: parsed.blobs, children: parsed.children.map((c) => c.digest) },
        tags,
        pushedBy,
        events: options.cached
          ? []
          : (tags.length > 0 ? tags : [undefined]).map((tag) =>
              changeEvent('manifest.pushed', { ...pushed, tag }, options.context),
            ),
      });
      return repositoryId;
    });
    for (const tag of tags) this.cache.tagChanged(repositoryId, tag);
    this.events.committed();
    return { digest, subject: parsed.subject?.digest, tags };
  }

  /**
   * The manifest `reference` of `name`, negotiated against `accept` as distribution does when the
   * client lists manifest types: an index fetched by tag by a client that accepts only single
   * manifests gets the linux/amd64 entry, and a type the client excludes is MANIFEST_UNKNOWN.
   * Without a list of manifest types (curl, a wildcard) the manifest is served as stored.
   */
  async get(name: string, reference: string, accept?: string | string[]): Promise<ManifestRecord> {
    const ref = existingReference(name, reference);
    const repositoryId = await this.repositoryId(name);
    const digest =
      ref.kind === 'digest'
        ? ref.digest.value
        : await this.cache.tag(this.meta, repositoryId, ref.tag);
    const record =
      digest === undefined ? undefined : await this.cache.manifest(this.meta, repositoryId, digest);
    if (!record)
      throw new BerthError('MANIFEST_UNKNOWN', `manifest ${reference} is not in ${name}`, {
        name,
        reference,
      });
    const { types: accepted, choosy } = manifestAcceptance(accept);
    if (!choosy || accepted.has(record.mediaType)) return record;
    if (
      ref.kind === 'tag' &&
      isIndexMediaType(record.mediaType) &&
      accepted.has(manifestTypeForIndex(record.mediaType))
    ) {
      return this.defaultPlatform(repositoryId, name, reference, record);
    }
    throw new BerthError(
      'MANIFEST_UNKNOWN',
      `${record.mediaType} found, but the Accept header does not include it`,
      {
        mediaType: record.mediaType,
      },
    );
  }

  /** Deletes a tag, or by digest a manifest and every tag pointing at it. */
  async delete(name: string, reference: string, context?: ChangeContext): Promise<void> {
    const ref = existingReference(name, reference);
    const repositoryId = await this.repositoryId(name);
    // Neither an immutable tag nor, by digest, the manifest one points at may be deleted.
    const frozen =
      ref.kind === 'tag'
        ? [ref.tag]
        : await this.meta.tags.pointingAt(repositoryId, ref.digest.value);
    for (const tag of frozen) {
      const rule = await this.immutable?.ruleFor(name, tag);
      if (rule) throw new BerthError('DENIED', ImmutableTags.reason(name, tag, rule), { tag });
    }
    if (ref.kind === 'tag') {
      const deleted = await this.meta.writeTransaction(async (m) => {
        const gone = await m.tags.delete(repositoryId, ref.tag);
        if (gone) await recordChange(m, 'tag.deleted', { repository: name, tag: ref.tag }, context);
        return gone;
      });
      this.cache.tagChanged(repositoryId, ref.tag);
      if (!deleted) {
        throw new BerthError('MANIFEST_UNKNOWN', `tag ${ref.tag} is not in ${name}`, {
          tag: ref.tag,
        });
      }
      this.events.committed();
      return;
    }
    const digest = ref.digest.value;
    const deleted = await this.meta.writeTransaction(async (m) => {
      const gone = await m.manifests.delete(repositoryId, digest);
      if (gone) await recordChange(m, 'manifest.deleted', { repository: name, digest }, context);
      return gone;
    });
    this.cache.manifestDeleted(repositoryId, digest);
    if (!deleted) {
      throw new BerthError('MANIFEST_UNKNOWN', `manifest ${ref.digest.value} is not in ${name}`, {
        digest: ref.digest.value,
      });
    }
    this.events.committed();
  }

  /** The OCI index of manifests in `name` whose subject is `digest`, optionally by artifact type. */
  async referrers(
    name: string,
    digest: string,
    artifactType?: string,
  ): Promise<{ index: object; filtered: boolean }> {
    const repositoryId = await this.cache.repositoryId(this.meta, name);
    const records =
      repositoryId === undefined
        ? []
        : await this.meta.manifests.referrers(repositoryId, digest, artifactType);
    const manifests: Descriptor[] = records.map((r) => ({
      mediaType: r.mediaType,
      digest: r.digest,
      size: r.size,
      ...(r.artifactType ? { artifactType: r.artifactType } : {}),
      ...(r.annotations ? { annotations: r.annotations } : {}),
    }));
    return {
      index: { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests },
      filtered: artifactType !== undefined,
    };
  }

  /** Up to `limit` tags of `name` after `last`, in lexical order. */
  async tags(name: string, limit: number, last?: string): Promise<string[]> {
    return this.cache.tagPage(this.meta, await this.repositoryId(name), limit, last);
  }

  /** Up to `limit` repository names after `last`, in lexical order. */
  async catalog(limit: number, last?: string): Promise<string[]> {
    return this.meta.repositories.list(limit, last);
  }

  private async repositoryId(name: string): Promise<number> {
    const id = await this.cache.repositoryId(this.meta, name);
    if (id === undefined)
      throw new BerthError('NAME_UNKNOWN', `repository ${name} is not known`, { name });
    return id;
  }

  private async checkReferences(
    m: Meta,
    repositoryId: number,
    parsed: ParsedManifest,
  ): Promise<void> {
    const missingBlobs = await m.blobs.missing(repositoryId, parsed.blobs);
    if (missingBlobs.length > 0) {
      throw new BerthError(
        'MANIFEST_BLOB_UNKNOWN',
        `blob ${missingBlobs[0]} is not in this repository`,
        { digests: missingBlobs },
      );
    }
    const missingChildren = await m.manifests.missing(repositoryId, [
      ...new Set(parsed.children.map((c) => c.digest)),
    ]);
    if (missingChildren.length > 0) {
      throw new BerthError(
        'MANIFEST_BLOB_UNKNOWN',
        `manifest ${missingChildren[0]} listed by the index is not in this repository`,
        { digests: missingChildren },
      );
    }
  }

  private async defaultPlatform(
    repositoryId: number,
    name: string,
    reference: string,
    index: ManifestRecord,
  ): Promise<ManifestRecord> {
    const doc = JSON.parse(index.content.toString('utf8')) as { manifests: Descriptor[] };
    const entry = doc.manifests.find(
      (d) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64',
    );
    const record = entry
      ? await this.cache.manifest(this.meta, repositoryId, entry.digest)
      : undefined;
    if (!record) {
      throw new BerthError(
        'MANIFEST_UNKNOWN',
        `${name}:${reference} is an index with no linux/amd64 image, and the client does not accept indexes`,
      );
    }
    return record;
  }
}
