/**
 * cosign's key-based signatures, checked as cosign checks them: a signature manifest (found by
 * cosign's tag `sha256-<hex>.sig` or as an OCI 1.1 referrer) carries one layer per signature, of
 * type `application/vnd.dev.cosign.simplesigning.v1+json`, whose bytes are the "simple signing"
 * payload naming the signed manifest's digest, and whose annotation
 * `dev.cosignproject.cosign/signature` is the base64 signature of those bytes (ECDSA P-256 with
 * SHA-256 by default; RSA and Ed25519 keys work too).
 */
import { verify, type KeyObject } from 'node:crypto';

/** The media type of a cosign simple-signing layer. */
export const COSIGN_LAYER = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The annotation holding a layer's signature. */
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** The artifact type cosign gives signatures stored as OCI 1.1 referrers. */
export const COSIGN_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json';
/** The tag cosign stores the signatures of `digest` under. */
export function cosignTag(digest: string): string {
  return digest.replace(':', '-') + '.sig';
}

/** The simple-signing payload as cosign writes it. */
interface SimpleSigning {
  critical?: {
    identity?: { 'docker-reference'?: string };
    image?: { 'docker-manifest-digest'?: string };
    type?: string;
  };
}

/**
 * Why `payload` signed as `signatureBase64` does not sign manifest `digest` under `key`, or
 * undefined when it does.
 */
export function cosignProblem(
  payload: Buffer,
  signatureBase64: string,
  key: KeyObject,
  digest: string,
): string | undefined {
  let doc: SimpleSigning;
  try {
    doc = JSON.parse(payload.toString('utf8')) as SimpleSigning;
  } catch {
    return 'the payload is not JSON';
  }
  if (doc.critical?.type !== 'cosign container image signature')
    return 'the payload is not a cosign container image signature';
  if (doc.critical.image?.['docker-manifest-digest'] !== digest)
    return `the payload signs ${String(doc.critical.image?.['docker-manifest-digest'])}, not ${digest}`;
  const signature = Buffer.from(signatureBase64, 'base64');
  const algorithm = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  let valid = false;
  try {
    valid = verify(algorithm, payload, key, signature);
  } catch {
    valid = false;
  }
  return valid ? undefined : 'the signature does not verify with the key';
}
