/**
 * Admission: what may run. An image named without a registry, or with Berth's address, is a
 * Berth image: its tag is resolved to the digest the registry serves now, the policies in force
 * are checked against that digest — "only signed images" (Berth's Notary trust data signs the tag
 * for exactly that digest, by the named signers when any are required) and "only images from
 * Berth" — and the digest is pinned in what the node is asked to run, so a tag moved after the
 * check cannot slip through. Policies apply per Berth namespace (`namespace:acme`) and per
 * collection of nodes (`collection:prod`).
 */
import type { AdmissionPolicyRecord, Meta } from '../meta/index.js';
import { BerthError, isValidName, isValidTag, parseDigest } from '../oci/index.js';
import { labelsMatch } from './access.js';

/** An image reference split into its parts. */
export interface ImageRef {
  /** `host[:port]`, or null when the reference names none. */
  registry: string | null;
  repository: string;
  tag: string | null;
  digest: string | null;
}

/** Splits `image` (`[host[:port]/]name[:tag][@digest]`); INVALID_REQUEST when it is not one. */
export function parseImage(image: string): ImageRef {
  const bad = () => new BerthError('INVALID_REQUEST', `${image} is not an image reference`);
  let rest = image.trim();
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch {
      throw bad();
    }
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw bad();
  }
  let registry: string | null = null;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    rest = rest.slice(slash + 1);
  }
  if (!isValidName(rest)) throw bad();
  return { registry, repository: rest, tag: digest || tag ? tag : 'latest', digest };
}

/** What admission decided for an image. */
export interface AdmissionDecision {
  /** What the node is asked to run (`registry/repository@digest` for a Berth image). */
  ref: string;
  /** The Berth repository, or null for an image from elsewhere. */
  repository: string | null;
  tag: string | null;
  digest: string | null;
  /** Whether the trust data signs the tag for this digest. */
  signed: boolean;
  signers: string[];
  /** The policies that applied (their scopes). */
  policies: string[];
}

/** The signature of a tag, as the trust data has it. */
export type SignatureLookup = (
  repository: string,
  tag: string,
) => Promise<{ digest: string; signers: string[] } | undefined>;

/** Decides whether an image may run on a node, and pins it. */
export class Admission {
  constructor(
    private readonly meta: Meta,
    /** `host:port` nodes pull Berth images from (known once Berth listens). */
    private readonly registryOf: () => string,
    /** Other names Berth answers to (its domain). */
    private readonly aliases: string[],
    private readonly signatures?: SignatureLookup,
  ) {}

  private get registry(): string {
    return this.registryOf();
  }

  /** Whether `ref` names Berth (no registry, or one of Berth's addresses). */
  isBerth(ref: ImageRef): boolean {
    return (
      ref.registry === null || ref.registry === this.registry || this.aliases.includes(ref.registry)
    );
  }

  /** The policies in force for `repository` (or an image from elsewhere) on a node with `nodeLabels`. */
  async policiesFor(
    repository: string | null,
    nodeLabels: Record<string, string>,
  ): Promise<AdmissionPolicyRecord[]> {
    const collections = (await this.meta.cluster.collections())
      .filter((c) => labelsMatch(nodeLabels, c.nodeLabels))
      .map((c) => `collection:${c.name}`);
    const namespace = repository?.split('/')[0];
    return (await this.meta.cluster.policies()).filter(
      (p) =>
        collections.includes(p.scope) ||
        (namespace !== undefined && p.scope === `namespace:${namespace}`),
    );
  }

  /** Whether the trust data signs `repository:tag` for `digest`. */
  async signatureMatches(repository: string, tag: string, digest: string): Promise<boolean> {
    const signature = this.signatures ? await this.signatures(repository, tag) : undefined;
    return signature?.digest === digest;
  }

  /** Admits `image` for a node with `nodeLabels`; DENIED with the reason when a policy refuses. */
  async decide(image: string, nodeLabels: Record<string, string>): Promise<AdmissionDecision> {
    const ref = parseImage(image);
    const berth = this.isBerth(ref);
    const policies = await this.policiesFor(berth ? ref.repository : null, nodeLabels);
    const scopes = policies.map((p) => p.scope);
    if (!berth) {
      const only = policies.find((p) => p.berthOnly);
      if (only)
        throw new BerthError(
          'DENIED',
          `${image} is not from Berth, and ${only.scope} runs only images from Berth`,
        );
      return {
        ref: image,
        repository: null,
        tag: ref.tag,
        digest: ref.digest,
        signed: false,
        signers: [],
        policies: scopes,
      };
    }
    const repositoryId = await this.meta.repositories.find(ref.repository);
    if (repositoryId === undefined)
      throw new BerthError('NAME_UNKNOWN', `no repository ${ref.repository}`);
    let digest = ref.digest;
    if (digest !== null && !(await this.meta.manifests.get(repositoryId, digest)))
      throw new BerthError('MANIFEST_UNKNOWN', `${ref.repository}@${digest} does not exist`);
    if (digest === null) {
      digest = (await this.meta.tags.resolve(repositoryId, ref.tag!)) ?? null;
      if (digest === null)
        throw new BerthError('MANIFEST_UNKNOWN', `${ref.repository}:${ref.tag} does not exist`);
    }
    const signature =
      ref.tag !== null && this.signatures
        ? await this.signatures(ref.repository, ref.tag)
        : undefined;
    const signed = signature !== undefined && signature.digest === digest;
    const signedOnly = policies.filter((p) => p.signedOnly);
    if (signedOnly.length > 0) {
      const where = signedOnly.map((p) => p.scope).join(', ');
      const named = `${ref.repository}${ref.tag !== null && ref.digest === null ? `:${ref.tag}` : `@${digest}`}`;
      if (ref.tag === null || ref.digest !== null)
        throw new BerthError(
          'DENIED',
          `${named}: run a signed tag, not a digest (${where} runs only signed images)`,
        );
      if (!signature)
        throw new BerthError('DENIED', `${named} is not signed (${where} runs only signed images)`);
      if (!signed)
        throw new BerthError(
          'DENIED',
          `${named} is ${digest}, but its signature is for ${signature.digest}`,
        );
      const required = [...new Set(signedOnly.flatMap((p) => p.signers))];
      const missing = required.filter((s) => !signature.signers.includes(s));
      if (missing.length > 0)
        throw new BerthError(
          'DENIED',
          `${named} is not signed by ${missing.join(', ')} (${where} requires it)`,
        );
    }
    return {
      ref: `${this.registry}/${ref.repository}@${digest}`,
      repository: ref.repository,
      tag: ref.digest === null ? ref.tag : null,
      digest,
      signed,
      signers: signature?.signers ?? [],
      policies: scopes,
    };
  }
}
