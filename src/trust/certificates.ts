/** The rules a root key's X.509 certificate must meet, as notary-server applies them. */
import type { X509Certificate } from 'node:crypto';
import { certificateOf } from './keys.js';
import type { TufKey } from './model.js';

const DAY = 86_400_000;
const SHA1_SIGNATURES = new Set(['1.2.840.10045.4.1', '1.2.840.113549.1.1.5', '1.3.14.3.2.29']);

/** The OID of the algorithm a DER X.509 certificate is signed with. */
export type SignatureAlgorithmReader = (der: Buffer) => string;

let reader: Promise<SignatureAlgorithmReader> | undefined;

/**
 * The reader of a certificate's signature algorithm, with its ASN.1 library (~240 KiB of
 * JavaScript) loaded at the first trust publish rather than at every start.
 */
export function signatureAlgorithmReader(): Promise<SignatureAlgorithmReader> {
  reader ??= Promise.all([import('@peculiar/asn1-schema'), import('@peculiar/asn1-x509')]).then(
    ([{ AsnConvert }, { Certificate }]) =>
      (der: Buffer) =>
        AsnConvert.parse(der, Certificate).signatureAlgorithm.algorithm,
  );
  return reader;
}

/** The common name of `cert`'s subject, or undefined. */
export function commonNameOf(cert: X509Certificate): string | undefined {
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}

/** Whether a certificate's common name admits `gun`: equal, or a `prefix*` wildcard. */
export function nameMatches(commonName: string, gun: string): boolean {
  if (commonName === gun) return true;
  return commonName.endsWith('*') && gun.startsWith(commonName.slice(0, -1));
}

/**
 * Why `key` cannot be a root key of `gun` at `now`, or undefined when it can: an X.509
 * certificate whose CN names the GUN, valid now (a day's leeway on NotBefore), not signed with
 * SHA-1, RSA keys of 2048 bits or more.
 */
export function rootKeyProblem(
  key: TufKey,
  gun: string,
  now: number,
  signatureAlgorithmOf: SignatureAlgorithmReader,
): string | undefined {
  if (key.keytype !== 'ecdsa-x509' && key.keytype !== 'rsa-x509')
    return `root keys must be X.509 certificates, not ${key.keytype.slice(0, 40)}`;
  let cert: X509Certificate;
  try {
    cert = certificateOf(key);
  } catch {
    return 'a root certificate does not parse';
  }
  const cn = commonNameOf(cert);
  if (cn === undefined || !nameMatches(cn, gun))
    return `a root certificate is for ${JSON.stringify(cn ?? '')}, not ${gun}`;
  if (Date.parse(cert.validFrom) > now + DAY) return 'a root certificate is not valid yet';
  if (Date.parse(cert.validTo) < now) return 'a root certificate has expired';
  const type = cert.publicKey.asymmetricKeyType;
  if ((key.keytype === 'rsa-x509') !== (type === 'rsa'))
    return `a ${key.keytype} root certificate holds a ${String(type)} key`;
  const bits = cert.publicKey.asymmetricKeyDetails?.modulusLength;
  if (type === 'rsa' && (bits ?? 0) < 2048) return 'a root RSA key is shorter than 2048 bits';
  if (SHA1_SIGNATURES.has(signatureAlgorithmOf(cert.raw)))
    return 'a root certificate is signed with SHA-1';
  return undefined;
}
