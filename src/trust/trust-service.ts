/**
 * The trust service: Notary's TUF repository per GUN over the metadata database — the one GUN of
 * each repository, reads (current, by checksum, by version) with lazy re-signing, server-held
 * keys, publish, delete, changefeed — with the signed-tags policy (`tags`) beside it.
 */
import { SignatureVerifier, type SignatureBlobReader } from './signatures/verifier.js';
import { VerificationKeys } from './signatures/keys.js';
import { createHash } from 'node:crypto';
import type { Meta, TrustFileRecord } from '../meta/index.js';
import { repositoryOfGun } from '../oci/index.js';
import { trustError } from './errors.js';
import { asRoot, asTimestamp, parseEnvelope, type TufKey } from './model.js';
import { signatureAlgorithmReader } from './certificates.js';
import { planPublish } from './publish.js';
import {
  ecdsaSigner,
  generateServerKey,
  type KeyVault,
  type MetadataSigner,
} from './server-keys.js';
import {
  describeFile,
  snapshotOf,
  timestampOf,
  TIMESTAMP_LIFETIME,
  type NewFile,
} from './server-metadata.js';
import { settledGun, SignedTagPolicy } from './signed-tag-policy.js';

/** A server-held role. */
export type ServerRole = 'timestamp' | 'snapshot';

/** One changefeed entry in notary-server's JSON shape. */
export interface ChangeView {
  ID: string;
  CreatedAt: string;
  GUN: string;
  Version: number;
  SHA256: string;
  Category: 'update' | 'deletion';
}

/** Re-sign a server-held file once less than this is left of its life. */
const RESIGN_MARGIN = TIMESTAMP_LIFETIME / 2;

function hex(bytes: Buffer, algorithm: 'sha256' | 'sha512'): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

function keyLabel(gun: string, role: string, keyId: string): string {
  return `${gun}\n${role}\n${keyId}`;
}

function isUniqueViolation(err: unknown): boolean {
  const text = String((err as { code?: unknown }).code ?? '') + String((err as Error).message);
  return /UNIQUE|unique|23505/.test(text);
}

/** Notary's TUF server over Berth's database. */
export class TrustService {
  /** Signed-tag views and the signed-tags requirements, read from each repository's one GUN. */
  readonly tags: SignedTagPolicy;

  constructor(
    private readonly meta: Meta,
    private readonly vault: KeyVault,
    cacheTtlMs: number,
    private readonly clock: () => number = Date.now,
    /** The registry's public name (`domain`): every GUN is `<domain>/<repository>` when set. */
    private readonly domain?: string,
  ) {
    this.verifier = new SignatureVerifier(meta, () => this.blobs, clock);
    this.tags = new SignedTagPolicy(meta, cacheTtlMs, clock, domain, this.verifier);
    this.keys = new VerificationKeys(meta, this.verifier);
  }

  /** The cosign keys and Notation trust-store certificates registered per scope. */
  readonly keys: VerificationKeys;

  /** cosign and Notation signatures, verified against the keys registered per scope. */
  readonly verifier: SignatureVerifier;
  private blobs: SignatureBlobReader | undefined;

  /** Gives the verifier a way to read signature blobs (the registry, built after trust). */
  attachBlobs(reader: SignatureBlobReader): void {
    this.blobs = reader;
  }

  /**
   * Throws (as `code`) unless `gun` is the one GUN of the repository it names, for a request
   * that reached this registry as `host`: `<domain>/<repository>`, else the GUN the repository's
   * trust data already lives under, else `<host>/<repository>`. Returns the repository.
   */
  async requireOwnGun(
    gun: string,
    host: string,
    code: 'METADATA_NOT_FOUND' | 'INVALID_UPDATE' = 'METADATA_NOT_FOUND',
  ): Promise<string> {
    const repository = this.repositoryOf(gun, code);
    const own = (await settledGun(this.meta, this.domain, repository)) ?? `${host}/${repository}`;
    if (gun.toLowerCase() !== own.toLowerCase())
      throw trustError(
        code,
        `the trust data of ${repository} lives under the GUN ${own}, not ${gun.slice(0, 300)}`,
      );
    return repository;
  }

  /** Whether `gun` has no root yet (a publish would create its trust data). */
  async isNew(gun: string): Promise<boolean> {
    return !(await this.currentMap(gun)).has('root');
  }

  /** The repository `gun` names; throws `code` when it names none. */
  repositoryOf(gun: string, code: 'METADATA_NOT_FOUND' | 'INVALID_UPDATE' = 'METADATA_NOT_FOUND') {
    const repository = repositoryOfGun(gun);
    if (!repository)
      throw trustError(code, `${gun.slice(0, 300)} does not name a repository of this registry`);
    return repository;
  }

  private async currentMap(gun: string): Promise<Map<string, TrustFileRecord>> {
    return new Map((await this.meta.trust.current(gun)).map((f) => [f.role, f]));
  }

  private static bytesOf(files: Map<string, TrustFileRecord>): Map<string, Buffer> {
    return new Map([...files].map(([role, f]) => [role, f.content]));
  }

  /** The newest `role` file of `gun`; timestamps (and server-held snapshots) re-signed when due. */
  async current(gun: string, role: string): Promise<TrustFileRecord | undefined> {
    let files = await this.currentMap(gun);
    if ((role === 'timestamp' || role === 'snapshot') && files.has('timestamp')) {
      if (await this.refreshServerFiles(gun, files)) files = await this.currentMap(gun);
    }
    return files.get(role);
  }

  /** The `role` file of `gun` whose sha256 or sha512 (hex) is `checksum`. */
  byChecksum(gun: string, role: string, checksum: string): Promise<TrustFileRecord | undefined> {
    return this.meta.trust.byChecksum(gun, role, checksum);
  }

  /** Version `version` of `gun`'s `role`. */
  byVersion(gun: string, role: string, version: number): Promise<TrustFileRecord | undefined> {
    return this.meta.trust.byVersion(gun, role, version);
  }

  /** Re-signs the timestamp (and a server-held snapshot) when near expiry; true when it did. */
  private async refreshServerFiles(
    gun: string,
    files: Map<string, TrustFileRecord>,
  ): Promise<boolean> {
    const now = this.clock();
    const rootFile = files.get('root');
    const snapshot = files.get('snapshot');
    const timestamp = files.get('timestamp');
    if (!rootFile || !snapshot || !timestamp) return false;
    const root = asRoot(parseEnvelope(rootFile.content), (m) => new Error(m)).signed;
    const fresh: NewFile[] = [];
    let snapshotBytes = snapshot.content;
    if (snapshot.expiresAt - now < RESIGN_MARGIN) {
      const signer = await this.signerFor(gun, 'snapshot', root.roles.snapshot.keyids);
      if (signer) {
        const next = snapshotOf(TrustService.bytesOf(files), snapshot.version + 1, now, signer);
        fresh.push(next);
        snapshotBytes = next.bytes;
      }
    }
    const stated = asTimestamp(parseEnvelope(timestamp.content), (m) => new Error(m)).signed;
    const matches =
      stated.meta.snapshot.hashes.sha256 === describeFile(snapshotBytes).hashes.sha256;
    if (fresh.length > 0 || !matches || timestamp.expiresAt - now < RESIGN_MARGIN) {
      const signer = await this.signerFor(gun, 'timestamp', root.roles.timestamp.keyids);
      if (!signer) return false;
      fresh.push(timestampOf(snapshotBytes, timestamp.version + 1, now, signer));
    }
    if (fresh.length === 0) return false;
    await this.store(gun, fresh, true);
    return true;
  }

  /**
   * The server's `role` keys of `gun`, as a lookup of a signer among given key IDs (a key is
   * decrypted only when chosen).
   */
  private async heldSigners(
    gun: string,
    role: ServerRole,
  ): Promise<(keyids: string[]) => MetadataSigner | undefined> {
    const held = await this.meta.trust.keys(gun, role);
    return (keyids) => {
      const key = held.find((k) => keyids.includes(k.keyId));
      if (!key) return undefined;
      return ecdsaSigner(
        key.keyId,
        this.vault.open(key.privateKey, keyLabel(gun, role, key.keyId)),
      );
    };
  }

  private async signerFor(
    gun: string,
    role: ServerRole,
    keyids: string[],
  ): Promise<MetadataSigner | undefined> {
    return (await this.heldSigners(gun, role))(keyids);
  }

  private async newKey(gun: string, role: ServerRole): Promise<TufKey> {
    const made = generateServerKey();
    await this.meta.trust.addKey({
      gun,
      role,
      keyId: made.keyId,
      algorithm: 'ecdsa',
      publicKey: made.key.keyval.public,
      privateKey: this.vault.seal(made.privateDer, keyLabel(gun, role, made.keyId)),
      createdAt: this.clock(),
    });
    return made.key;
  }

  /**
   * The public half of the server's `role` key for `gun` (GET `<role>.key`): the key the stored
   * root lists and the server holds; before a root exists (or when root lists none held here),
   * a new key.
   */
  async publicKey(gun: string, role: ServerRole): Promise<TufKey> {
    this.repositoryOf(gun);
    const rootFile = (await this.currentMap(gun)).get('root');
    if (rootFile) {
      const root = asRoot(parseEnvelope(rootFile.content), (m) => new Error(m)).signed;
      const listed = new Set(root.roles[role].keyids);
      const held = (await this.meta.trust.keys(gun, role)).find((k) => listed.has(k.keyId));
      if (held) return { keytype: 'ecdsa', keyval: { public: held.publicKey, private: null } };
    }
    return this.newKey(gun, role);
  }

  /** A new pending `role` key (POST `<role>.key`); it signs once a root lists it. */
  rotateKey(gun: string, role: ServerRole): Promise<TufKey> {
    this.repositoryOf(gun);
    return this.newKey(gun, role);
  }

  /** Validates and stores a publish (role → exact bytes); throws notary's errors when invalid. */
  async publish(gun: string, parts: Map<string, Buffer>): Promise<void> {
    this.repositoryOf(gun, 'INVALID_UPDATE');
    const files = await this.currentMap(gun);
    const signers = {
      timestamp: await this.heldSigners(gun, 'timestamp'),
      snapshot: await this.heldSigners(gun, 'snapshot'),
    };
    const planned = planPublish({
      gun,
      now: this.clock(),
      current: TrustService.bytesOf(files),
      parts,
      serverSigner: (role, keyids) => signers[role](keyids),
      signatureAlgorithmOf: await signatureAlgorithmReader(),
    });
    await this.store(gun, planned, false);
  }

  /** Stores `files` atomically; a concurrent writer of the same versions wins (VERSION). */
  private async store(gun: string, files: NewFile[], quietOnRace: boolean): Promise<void> {
    const repository = this.repositoryOf(gun);
    const now = this.clock();
    try {
      await this.meta.writeTransaction(async (tx) => {
        // Two first publishes under different GUNs of one repository: the first one wins.
        const others = (await tx.trust.gunsOf(repository)).filter((g) => g !== gun);
        if (others.length > 0)
          throw trustError(
            'INVALID_UPDATE',
            `the trust data of ${repository} lives under the GUN ${others[0]}`,
          );
        const stored = new Map((await tx.trust.current(gun)).map((f) => [f.role, f.version]));
        for (const f of files)
          if (f.version <= (stored.get(f.role) ?? 0))
            throw trustError('VERSION', `${f.role} version ${f.version} is stored already`);
        await tx.trust.add(
          files.map((f) => ({
            gun,
            repository,
            role: f.role,
            version: f.version,
            sha256: hex(f.bytes, 'sha256'),
            sha512: hex(f.bytes, 'sha512'),
            content: f.bytes,
            expiresAt: Date.parse(f.expires),
            createdAt: now,
          })),
        );
      });
    } catch (err) {
      const lost = isUniqueViolation(err) || (err as { code?: string }).code === 'VERSION';
      if (lost && quietOnRace) return;
      if (isUniqueViolation(err))
        throw trustError('VERSION', 'a newer version of this metadata was stored meanwhile');
      throw err;
    } finally {
      this.tags.forget(repository);
    }
  }

  /** Deletes all trust data of `gun`. */
  async delete(gun: string): Promise<void> {
    const repository = this.repositoryOf(gun);
    await this.meta.writeTransaction((tx) => tx.trust.deleteGun(gun, this.clock()));
    this.tags.forget(repository);
  }

  /** The changefeed (all GUNs when `gun` is undefined), with notary's parameter rules. */
  async changefeed(
    gun: string | undefined,
    changeId: string | null,
    records: string | null,
  ): Promise<{ count: number; records: ChangeView[] }> {
    const id = changeId === null || changeId === '' ? 0 : Number(changeId);
    let count = records === null || records === '' ? 100 : Number(records);
    if (!Number.isInteger(id) || id < -1)
      throw trustError('INVALID_PARAMETERS', 'change_id must be an integer', 'change_id');
    if (!Number.isInteger(count))
      throw trustError('INVALID_PARAMETERS', 'records must be an integer', `records: ${records}`);
    let reverse = count < 0;
    count = Math.min(Math.abs(count), 1_000);
    if (id === -1) reverse = !reverse;
    let rows = await this.meta.trust.changes(gun, id === -1 ? 0 : id, count, reverse);
    if (id === -1) rows = rows.reverse();
    return {
      count: rows.length,
      records: rows.map((r) => ({
        ID: String(r.id),
        CreatedAt: new Date(r.createdAt).toISOString(),
        GUN: r.gun,
        Version: r.version,
        SHA256: r.sha256,
        Category: r.category,
      })),
    };
  }
}
