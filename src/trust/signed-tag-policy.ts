/**
 * The signed-tags policy: which tags of a repository its trust data signs (read from the
 * repository's one GUN), the requirements on repositories and namespaces, and whether a tag may
 * be served under them.
 */
import type { Meta, TrustPolicyRecord } from '../meta/index.js';
import { TtlCache } from '../registry/index.js';
import { signedTags, type TagSignature } from './signed-tags.js';
import type { SignatureFindings, SignatureKind, SignatureVerifier } from './signatures/verifier.js';

/** What an unmet signed-tags requirement does to a pull. */
export interface PullVerdict {
  reason: string;
  mode: TrustPolicyRecord['mode'];
}

/** A requirement as it is set. */
export type RequirementSettings = Pick<
  TrustPolicyRecord,
  'signers' | 'mode' | 'kinds' | 'threshold'
>;

/** A signed tag with where and when it was signed. */
export interface TagSignatureView extends TagSignature {
  gun: string;
  /** When the signing file that first carried this digest for the tag was published. */
  signedAt: number;
}

/** One tag of a repository as the trust data sees it. */
export interface TagTrustStatus {
  tag: string;
  /** The digest the registry serves for the tag, or null when only the trust data knows it. */
  digest: string | null;
  signed: boolean;
  /** The signature is for another digest than the registry serves. */
  mismatch: boolean;
  signedDigest: string | null;
  role: string | null;
  signers: string[];
  signedAt: string | null;
  /** Whether the signed-tags requirement (if any) lets the registry serve it by tag. */
  servable: boolean;
  /** The kinds of signature that verify for the served digest (`notary`, `cosign`, `notation`). */
  kinds: SignatureKind[];
}

type GunSignature = TagSignature & { gun: string };

/**
 * The one GUN of `repository`, as far as it is settled: `<domain>/<repository>` when a domain is
 * configured, else the GUN its trust data lives under (undefined before there is any, or when
 * older data left several).
 */
export async function settledGun(
  meta: Meta,
  domain: string | undefined,
  repository: string,
): Promise<string | undefined> {
  if (domain) return `${domain}/${repository}`;
  const guns = await meta.trust.gunsOf(repository);
  return guns.length === 1 ? guns[0] : undefined;
}

/** Of `policies`, the one for `repository` itself, else its nearest namespace's. */
function nearestRequirement(
  policies: TrustPolicyRecord[],
  repository: string,
): TrustPolicyRecord | undefined {
  let best: TrustPolicyRecord | undefined;
  for (const p of policies) {
    if (p.scope === repository) return p;
    if (p.scope.endsWith('/') && repository.startsWith(p.scope))
      if (!best || p.scope.length > best.scope.length) best = p;
  }
  return best;
}

/** Signed-tag views and requirements over the trust data in the database. */
export class SignedTagPolicy {
  private readonly tagCache: TtlCache<Map<string, GunSignature>>;
  private policyList: { records: TrustPolicyRecord[]; loadedAt: number } | undefined;

  constructor(
    private readonly meta: Meta,
    private readonly cacheTtlMs: number,
    private readonly clock: () => number,
    private readonly domain: string | undefined,
    /** Verifies cosign and Notation signatures (Notary v1 only when absent). */
    readonly verifier?: SignatureVerifier,
  ) {
    this.tagCache = new TtlCache(cacheTtlMs, 1_000);
  }

  /** Drops what is cached of `repository`'s signatures (after its trust data changed). */
  forget(repository: string): void {
    this.tagCache.delete(repository);
  }

  /** The signed tags of `repository`, read from its one GUN only (never merged across GUNs). */
  private async tagsOf(repository: string): Promise<Map<string, GunSignature>> {
    const tags = new Map<string, GunSignature>();
    const gun = await settledGun(this.meta, this.domain, repository);
    if (gun === undefined) return tags;
    const files = new Map((await this.meta.trust.current(gun)).map((f) => [f.role, f.content]));
    for (const [tag, sig] of signedTags(files, this.clock())) tags.set(tag, { ...sig, gun });
    return tags;
  }

  /** The signature of `repository:tag` in its GUN (digest, role, signers), if signed. */
  async signatureOf(repository: string, tag: string): Promise<TagSignature | undefined> {
    return (await this.tagsOf(repository)).get(tag);
  }

  /** Every signed tag of `repository` in its GUN, with when each was signed. */
  async tagSignatures(repository: string): Promise<TagSignatureView[]> {
    const out: TagSignatureView[] = [];
    for (const sig of (await this.tagsOf(repository)).values()) {
      let signedAt = 0;
      for (const file of await this.meta.trust.history(sig.gun, sig.role, 100)) {
        const digest = signedTags(new Map([[sig.role, file.content]]), 0).get(sig.tag)?.digest;
        if (digest !== sig.digest) break;
        signedAt = file.createdAt;
      }
      out.push({ ...sig, signedAt });
    }
    return out.sort((a, b) => (a.tag < b.tag ? -1 : 1));
  }

  /**
   * The trust status of every tag of `repository` (`tags`: what the registry serves), plus tags
   * only the trust data names; and the requirement that applies.
   */
  async status(
    repository: string,
    tags: { tag: string; digest: string }[],
  ): Promise<{ requirement: TrustPolicyRecord | null; tags: TagTrustStatus[] }> {
    const requirement = (await this.requirementFor(repository)) ?? null;
    const signatures = new Map((await this.tagSignatures(repository)).map((s) => [s.tag, s]));
    const others = this.verifier
      ? await this.verifier.findingsOf(
          repository,
          tags.map((t) => t.digest),
        )
      : new Map<string, SignatureFindings>();
    const rows: TagTrustStatus[] = [];
    const seen = new Set<string>();
    const row = async (tag: string, digest: string | null): Promise<TagTrustStatus> => {
      const sig = signatures.get(tag);
      const matches = sig !== undefined && digest !== null && sig.digest === digest;
      const other = digest === null ? [] : (others.get(digest)?.verified ?? []);
      const signers = [...new Set([...(sig?.signers ?? []), ...other.map((o) => o.signer)])];
      const kinds = [
        ...new Set<SignatureKind>([
          ...(matches ? ['notary' as const] : []),
          ...other.map((o) => o.kind),
        ]),
      ];
      const verdict =
        digest === null || requirement === null
          ? undefined
          : await this.decide(requirement, repository, tag, digest, others.get(digest));
      return {
        tag,
        digest,
        signed: sig !== undefined,
        mismatch: sig !== undefined && digest !== null && !matches,
        signedDigest: sig?.digest ?? null,
        role: sig?.role ?? null,
        signers,
        signedAt: sig && sig.signedAt > 0 ? new Date(sig.signedAt).toISOString() : null,
        servable: digest !== null && (verdict === undefined || verdict.mode !== 'enforce'),
        kinds,
      };
    };
    for (const { tag, digest } of tags) {
      seen.add(tag);
      rows.push(await row(tag, digest));
    }
    for (const tag of signatures.keys()) if (!seen.has(tag)) rows.push(await row(tag, null));
    return { requirement, tags: rows.sort((a, b) => (a.tag < b.tag ? -1 : 1)) };
  }

  private async policies(): Promise<TrustPolicyRecord[]> {
    const fresh = this.freshPolicies();
    if (fresh) return fresh;
    const loadedAt = Date.now();
    this.policyList = { records: await this.meta.trust.policies(), loadedAt };
    return this.policyList.records;
  }

  /** The requirements read within the cache's lifetime, or undefined when they must be read again. */
  private freshPolicies(): TrustPolicyRecord[] | undefined {
    const list = this.policyList;
    return list && Date.now() - list.loadedAt <= this.cacheTtlMs ? list.records : undefined;
  }

  /** The requirement that applies to `repository`: its own, else its nearest namespace's. */
  async requirementFor(repository: string): Promise<TrustPolicyRecord | undefined> {
    return nearestRequirement(await this.policies(), repository);
  }

  /**
   * True when, by requirements read within the cache's lifetime, none applies to `repository`:
   * known without waiting. False when one applies or they must be read again.
   */
  requiresNothingOf(repository: string): boolean {
    const fresh = this.freshPolicies();
    return fresh !== undefined && nearestRequirement(fresh, repository) === undefined;
  }

  /** Every requirement. */
  listRequirements(): Promise<TrustPolicyRecord[]> {
    return this.meta.trust.policies();
  }

  /**
   * Requires signed tags in `scope` (`team/app` or `team/`): a signature of one of `kinds`, by
   * `threshold` of `signers` when any are named; `mode` says what an unmet requirement does.
   */
  async require(
    scope: string,
    settings: RequirementSettings,
    createdBy: string | null,
  ): Promise<TrustPolicyRecord> {
    const record = { scope, ...settings, createdBy, createdAt: Date.now() };
    await this.meta.trust.setPolicy(record);
    this.policyList = undefined;
    return record;
  }

  /** Lifts the requirement on `scope`; false when there was none. */
  async unrequire(scope: string): Promise<boolean> {
    const removed = await this.meta.trust.removePolicy(scope);
    this.policyList = undefined;
    return removed;
  }

  /**
   * Why `tag` (now `digest`) of `repository` does not meet the signed-tags requirement, and what
   * that does to the pull; undefined when it meets it (or nothing is required).
   */
  async pullVerdict(
    repository: string,
    tag: string,
    digest: string,
  ): Promise<PullVerdict | undefined> {
    const requirement = await this.requirementFor(repository);
    return requirement && this.decide(requirement, repository, tag, digest);
  }

  /** Why `tag` (now `digest`) of `repository` does not meet `requirement`, if it does not. */
  private async decide(
    requirement: TrustPolicyRecord,
    repository: string,
    tag: string,
    digest: string,
    /** The cosign and Notation findings for `digest`, when already known. */
    known?: SignatureFindings,
  ): Promise<PullVerdict | undefined> {
    const refuse = (reason: string) => ({ reason, mode: requirement.mode });
    const kinds = requirement.kinds;
    const signers = new Set<string>();
    const problems: string[] = [];
    let signed = false;
    if (kinds.includes('notary')) {
      let tags = this.tagCache.get(repository);
      if (!tags) {
        tags = await this.tagsOf(repository);
        this.tagCache.set(repository, tags);
      }
      const sig = tags.get(tag);
      if (sig && sig.digest === digest) {
        signed = true;
        sig.signers.forEach((s) => signers.add(s));
      } else if (sig)
        problems.push(`${repository}:${tag} is ${digest}, but its signature is for ${sig.digest}`);
    }
    if (this.verifier && (kinds.includes('cosign') || kinds.includes('notation'))) {
      const found = known ?? (await this.verifier.findings(repository, digest));
      for (const v of found.verified)
        if (kinds.includes(v.kind)) {
          signers.add(v.signer);
          signed = true;
        }
      problems.push(...found.problems);
    }
    if (!signed) {
      if (problems.length > 0) return refuse(problems[0]!);
      return refuse(
        kinds.length === 1 && kinds[0] === 'notary'
          ? `${repository}:${tag} has no signature in its trust data, and ${requirement.scope} requires signed tags`
          : `${repository}:${tag} has no signature (${kinds.join(', ')}), and ${requirement.scope} requires signed tags`,
      );
    }
    const named = requirement.signers;
    if (named.length === 0) return undefined;
    const needed = requirement.threshold ?? named.length;
    const have = named.filter((s) => signers.has(s));
    if (have.length >= needed) return undefined;
    const missing = named.filter((s) => !signers.has(s));
    return refuse(
      requirement.threshold === null
        ? `${repository}:${tag} is not signed by ${missing.join(', ')} (${requirement.scope} requires it)`
        : `${repository}:${tag} is signed by ${have.length} of ${named.join(', ')}; ${requirement.scope} requires ${needed}`,
    );
  }
}
