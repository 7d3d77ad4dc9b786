/**
 * The keys that verify cosign signatures and the certificates that anchor Notation ones, per
 * repository or namespace: checked when added (a public key, a certificate), listed without
 * secrets (there are none), removed; the verifier re-reads them at once here, on other replicas
 * within seconds.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import type { Meta, VerificationKeyRecord } from '../../meta/index.js';
import { BerthError } from '../../oci/index.js';
import { SIGNER_NAME, parseTrustScope } from '../policy-scope.js';
import type { SignatureVerifier } from './verifier.js';

/** A key as it is listed. */
export interface VerificationKeyView extends Omit<VerificationKeyRecord, 'material'> {
  /** The SHA-256 fingerprint of the key (cosign) or certificate (Notation). */
  fingerprint: string;
  /** A Notation certificate's subject. */
  subject?: string;
  material: string;
}

function describe(key: VerificationKeyRecord): VerificationKeyView {
  if (key.kind === 'notation') {
    const cert = new X509Certificate(key.material);
    return { ...key, fingerprint: cert.fingerprint256, subject: cert.subject };
  }
  const der = createPublicKey(key.material).export({ type: 'spki', format: 'der' });
  const hex = createHash('sha256').update(der).digest('hex');
  return { ...key, fingerprint: hex.match(/../g)!.join(':').toUpperCase() };
}

/** Verification keys per scope. */
export class VerificationKeys {
  constructor(
    private readonly meta: Meta,
    private readonly verifier: SignatureVerifier,
  ) {}

  /** Every key. */
  async list(): Promise<VerificationKeyView[]> {
    return (await this.meta.verificationKeys.list()).map(describe);
  }

  /** Adds a cosign public key or a Notation trust-store certificate (PEM) named `name` on `scope`. */
  async add(
    scope: string,
    kind: VerificationKeyRecord['kind'],
    name: string,
    pem: string,
    createdBy: string | null,
  ): Promise<VerificationKeyView> {
    parseTrustScope(scope);
    if (!SIGNER_NAME.test(name))
      throw new BerthError('INVALID_REQUEST', 'a key name is 1-128 of a-z, 0-9, _ and -');
    try {
      if (kind === 'cosign') {
        const key = createPublicKey(pem);
        if (key.type !== 'public') throw new Error('not a public key');
      } else new X509Certificate(pem);
    } catch {
      throw new BerthError(
        'INVALID_REQUEST',
        kind === 'cosign'
          ? 'a cosign key is a PEM public key (cosign.pub)'
          : 'a Notation trust-store entry is a PEM certificate',
      );
    }
    if ((await this.meta.verificationKeys.list()).some((k) => k.scope === scope && k.name === name))
      throw new BerthError('CONFLICT', `${scope} has a key named ${name} already`);
    const record = {
      scope,
      kind,
      name,
      material: pem.trim() + '\n',
      createdBy,
      createdAt: Date.now(),
    };
    const id = await this.meta.verificationKeys.add(record);
    this.verifier.invalidate();
    return describe({ id, ...record });
  }

  /** Removes key `id`; the key removed. */
  async remove(id: number): Promise<VerificationKeyRecord> {
    const key = (await this.meta.verificationKeys.list()).find((k) => k.id === id);
    if (!key || !(await this.meta.verificationKeys.remove(id)))
      throw new BerthError('NOT_FOUND', `no verification key ${id}`);
    this.verifier.invalidate();
    return key;
  }
}
