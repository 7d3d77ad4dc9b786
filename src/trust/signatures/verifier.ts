/**
 * Finding and verifying the cosign and Notation signatures of a manifest: signature manifests are
 * found through the referrers of the manifest (OCI 1.1) and cosign's tag `sha256-<hex>.sig`, and
 * each is verified — the signature itself, against the keys and trust-store certificates
 * registered for the repository or its namespace. Results are cached per (repository, signature
 * manifest, signed manifest, keys version), so they are redone when keys change.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Meta, VerificationKeyRecord } from '../../meta/index.js';
import {
  COSIGN_ARTIFACT,
  COSIGN_LAYER,
  COSIGN_SIGNATURE_ANNOTATION,
  cosignProblem,
  cosignTag,
} from './cosign.js';
import { NOTATION_ARTIFACT, NOTATION_JWS, notationSigner, type TrustAnchor } from './notation.js';

/** A kind of signature. */
export type SignatureKind = 'notary' | 'cosign' | 'notation';

/** A signature that verified. */
export interface VerifiedSignature {
  kind: SignatureKind;
  /** The name of the key (cosign) or trust-store certificate (Notation) it verified with. */
  signer: string;
  /** The signature manifest's digest. */
  signature: string;
}

/** What was found for a manifest: the signatures that verified, and why others did not. */
export interface SignatureFindings {
  verified: VerifiedSignature[];
  problems: string[];
}

/** Reads a small blob of a repository (at most `maxBytes`), or undefined. */
export type SignatureBlobReader = (
  repository: string,
  digest: string,
  maxBytes: number,
) => Promise<Buffer | undefined>;

interface Layer {
  mediaType?: string;
  digest?: string;
  size?: number;
  annotations?: Record<string, string>;
}

interface LoadedKeys {
  version: string;
  keys: (VerificationKeyRecord & { cosign?: KeyObject; anchor?: X509Certificate })[];
  loadedAt: number;
}

const RECHECK_MS = 2_000;
const MAX_SIGNATURE_BLOB = 256 * 1024;
const CACHE_LIMIT = 10_000;

const covers = (scope: string, repository: string) =>
  scope === repository || (scope.endsWith('/') && repository.startsWith(scope));

/** Verifies cosign and Notation signatures. */
export class SignatureVerifier {
  private loaded: LoadedKeys | undefined;
  private readonly cache = new Map<string, { verified: VerifiedSignature[]; problems: string[] }>();

  constructor(
    private readonly meta: Meta,
    private readonly readBlob: () => SignatureBlobReader | undefined,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Re-reads keys at the next verification (after a change in this process). */
  invalidate(): void {
    this.loaded = undefined;
  }

  private async keys(): Promise<LoadedKeys> {
    if (this.loaded && Date.now() - this.loaded.loadedAt < RECHECK_MS) return this.loaded;
    const version = await this.meta.verificationKeys.version();
    if (this.loaded?.version === version) {
      this.loaded.loadedAt = Date.now();
      return this.loaded;
    }
    const keys = (await this.meta.verificationKeys.list()).map((k) => {
      try {
        return k.kind === 'cosign'
          ? { ...k, cosign: createPublicKey(k.material) }
          : { ...k, anchor: new X509Certificate(k.material) };
      } catch {
        return k;
      }
    });
    this.loaded = { version, keys, loadedAt: Date.now() };
    return this.loaded;
  }

  /** The cosign and Notation signatures of manifest `digest` in `repository` that verify. */
  async findings(repository: string, digest: string): Promise<SignatureFindings> {
    const repositoryId = await this.meta.repositories.find(repository);
    if (repositoryId === undefined) return { verified: [], problems: [] };
    const candidates = new Map<string, string>();
    for (const r of await this.meta.manifests.referrers(repositoryId, digest))
      if (r.artifactType === COSIGN_ARTIFACT || r.artifactType === NOTATION_ARTIFACT)
        candidates.set(r.digest, r.artifactType);
    const tagged = await this.meta.tags.resolve(repositoryId, cosignTag(digest));
    if (tagged) candidates.set(tagged, COSIGN_ARTIFACT);
    return this.verify(repository, repositoryId, digest, candidates);
  }

  /**
   * The findings for each of `digests` in `repository`, with two queries for the whole repository
   * (for listings of many tags) instead of two per manifest.
   */
  async findingsOf(repository: string, digests: string[]): Promise<Map<string, SignatureFindings>> {
    const out = new Map<string, SignatureFindings>();
    const repositoryId = await this.meta.repositories.find(repository);
    if (repositoryId === undefined) return out;
    const bySubject = new Map<string, Map<string, string>>();
    const add = (subject: string, signature: string, type: string) =>
      bySubject.set(subject, (bySubject.get(subject) ?? new Map()).set(signature, type));
    const referrers = await this.meta.manifests.referrersOfTypes(repositoryId, [
      COSIGN_ARTIFACT,
      NOTATION_ARTIFACT,
    ]);
    for (const r of referrers) add(r.subject, r.digest, r.artifactType);
    for (const t of await this.meta.tags.withSuffix(repositoryId, '.sig'))
      if (/^sha256-[0-9a-f]{64}\.sig$/.test(t.name))
        add(`sha256:${t.name.slice(7, 71)}`, t.digest, COSIGN_ARTIFACT);
    for (const digest of new Set(digests))
      out.set(
        digest,
        await this.verify(repository, repositoryId, digest, bySubject.get(digest) ?? new Map()),
      );
    return out;
  }

  private async verify(
    repository: string,
    repositoryId: number,
    digest: string,
    candidates: Map<string, string>,
  ): Promise<SignatureFindings> {
    const found: SignatureFindings = { verified: [], problems: [] };
    if (candidates.size === 0) return found;
    const keys = await this.keys();
    const inScope = keys.keys.filter((k) => covers(k.scope, repository));
    for (const [signature, type] of candidates) {
      const key = `${repository}\n${signature}\n${digest}\n${keys.version}`;
      let result = this.cache.get(key);
      if (!result) {
        const record = await this.meta.manifests.get(repositoryId, signature);
        const layers = record
          ? ((JSON.parse(record.content.toString('utf8')) as { layers?: Layer[] }).layers ?? [])
          : [];
        result =
          type === NOTATION_ARTIFACT
            ? await this.notation(repository, digest, signature, layers, inScope)
            : await this.cosign(repository, digest, signature, layers, inScope);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(key, result);
      }
      found.verified.push(...result.verified);
      found.problems.push(...result.problems);
    }
    return found;
  }

  private async cosign(
    repository: string,
    digest: string,
    signature: string,
    layers: Layer[],
    keys: LoadedKeys['keys'],
  ): Promise<Omit<SignatureFindings, never>> {
    const out: SignatureFindings = { verified: [], problems: [] };
    const cosignKeys = keys.filter((k) => k.cosign);
    for (const layer of layers) {
      const sig = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
      if (layer.mediaType !== COSIGN_LAYER || !sig || !layer.digest) continue;
      const payload = await this.readBlob()?.(repository, layer.digest, MAX_SIGNATURE_BLOB);
      if (!payload) {
        out.problems.push(`cosign signature ${signature}: its payload cannot be read`);
        continue;
      }
      if (cosignKeys.length === 0)
        out.problems.push('cosign signature: no cosign key is registered');
      for (const k of cosignKeys) {
        const problem = cosignProblem(payload, sig, k.cosign!, digest);
        if (problem === undefined) out.verified.push({ kind: 'cosign', signer: k.name, signature });
        else out.problems.push(`cosign signature (key ${k.name}): ${problem}`);
      }
    }
    return out;
  }

  private async notation(
    repository: string,
    digest: string,
    signature: string,
    layers: Layer[],
    keys: LoadedKeys['keys'],
  ): Promise<SignatureFindings> {
    const out: SignatureFindings = { verified: [], problems: [] };
    const anchors: TrustAnchor[] = keys
      .filter((k) => k.anchor)
      .map((k) => ({ name: k.name, certificate: k.anchor! }));
    for (const layer of layers) {
      if (layer.mediaType !== NOTATION_JWS || !layer.digest) continue;
      const envelope = await this.readBlob()?.(repository, layer.digest, MAX_SIGNATURE_BLOB);
      if (!envelope) {
        out.problems.push(`Notation signature ${signature}: its envelope cannot be read`);
        continue;
      }
      const result = await notationSigner(envelope, digest, anchors, this.now());
      if ('signer' in result)
        out.verified.push({ kind: 'notation', signer: result.signer, signature });
      else out.problems.push(`Notation signature: ${result.problem}`);
    }
    return out;
  }
}
