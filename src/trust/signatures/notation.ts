/**
 * Notation (Notary Project) signatures, checked as the specification says: a signature manifest
 * with artifact type `application/vnd.cncf.notary.signature`, referring to the signed manifest as
 * its subject, with one layer — a JWS envelope (`application/jose+json`, JSON serialisation) whose
 * protected header names the `notary.x509` signing scheme and whose payload is
 * `{"targetArtifact": descriptor}`. The signature is checked with the leaf certificate of the
 * unprotected header's `x5c` chain, the chain up to a certificate of the trust store, each
 * certificate's validity at the signing time, and the target's digest. (COSE envelopes are not
 * read.)
 */
import { X509Certificate } from 'node:crypto';
import { flattenedVerify, type FlattenedJWSInput } from 'jose';

/** The artifact type of a Notation signature manifest. */
export const NOTATION_ARTIFACT = 'application/vnd.cncf.notary.signature';
/** The media type of a JWS envelope layer. */
export const NOTATION_JWS = 'application/jose+json';
const PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
const ALGORITHMS = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** A trusted root, by the name policies know it as. */
export interface TrustAnchor {
  name: string;
  certificate: X509Certificate;
}

interface Envelope extends FlattenedJWSInput {
  header?: { x5c?: string[] };
}

interface ProtectedHeader {
  alg?: string;
  cty?: string;
  crit?: string[];
  'io.cncf.notary.signingScheme'?: string;
  'io.cncf.notary.signingTime'?: string;
  'io.cncf.notary.expiry'?: string;
}

/** The trust anchor a Notation JWS `envelope` for manifest `digest` chains to, or why none. */
export async function notationSigner(
  envelope: Buffer,
  digest: string,
  anchors: TrustAnchor[],
  now: number,
): Promise<{ signer: string } | { problem: string }> {
  let jws: Envelope;
  let header: ProtectedHeader;
  try {
    jws = JSON.parse(envelope.toString('utf8')) as Envelope;
    header = JSON.parse(
      Buffer.from(jws.protected ?? '', 'base64url').toString('utf8'),
    ) as ProtectedHeader;
  } catch {
    return { problem: 'the envelope is not a JWS in JSON serialisation' };
  }
  if (header.cty !== PAYLOAD_TYPE) return { problem: `the payload type is not ${PAYLOAD_TYPE}` };
  if (header['io.cncf.notary.signingScheme'] !== 'notary.x509')
    return { problem: 'the signing scheme is not notary.x509' };
  if (!header.alg || !ALGORITHMS.includes(header.alg))
    return { problem: `the algorithm ${String(header.alg)} is not one Notation uses` };
  const signedAt = Date.parse(header['io.cncf.notary.signingTime'] ?? '');
  if (Number.isNaN(signedAt)) return { problem: 'the signing time is missing' };
  const expiry = header['io.cncf.notary.expiry'];
  if (expiry !== undefined && Date.parse(expiry) < now)
    return { problem: 'the signature has expired' };
  let chain: X509Certificate[];
  try {
    chain = (jws.header?.x5c ?? []).map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  } catch {
    return { problem: 'the certificate chain does not parse' };
  }
  if (chain.length === 0) return { problem: 'the envelope carries no certificate chain' };
  const validAt = (c: X509Certificate) =>
    Date.parse(c.validFrom) <= signedAt && signedAt <= Date.parse(c.validTo);
  if (!chain.every(validAt)) return { problem: 'a certificate was not valid at the signing time' };
  for (let i = 0; i + 1 < chain.length; i++)
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey))
      return { problem: 'the certificate chain is broken' };
  const top = chain[chain.length - 1]!;
  const anchor = anchors.find(
    (a) =>
      a.certificate.fingerprint256 === top.fingerprint256 ||
      (top.checkIssued(a.certificate) && top.verify(a.certificate.publicKey)),
  );
  if (!anchor) return { problem: 'the chain does not lead to a certificate of the trust store' };
  let payload: Uint8Array;
  try {
    const crit = Object.fromEntries((header.crit ?? []).map((name) => [name, true]));
    payload = (await flattenedVerify(jws, chain[0]!.publicKey, { algorithms: ALGORITHMS, crit }))
      .payload;
  } catch {
    return { problem: 'the signature does not verify with the leaf certificate' };
  }
  let target: { targetArtifact?: { digest?: string } };
  try {
    target = JSON.parse(Buffer.from(payload).toString('utf8')) as typeof target;
  } catch {
    return { problem: 'the payload is not JSON' };
  }
  if (target.targetArtifact?.digest !== digest)
    return { problem: `the payload signs ${String(target.targetArtifact?.digest)}, not ${digest}` };
  return { signer: anchor.name };
}
