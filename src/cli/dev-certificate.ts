/** `berth tls self-signed`: a development certificate and key for `berth serve --tls-cert`. */
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { JsonGeneralName } from '@peculiar/x509';
import { loadX509 } from '../kit/index.js';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A PEM certificate and PKCS#8 key. */
export interface PemPair {
  cert: string;
  key: string;
}

/**
 * Makes a self-signed ECDSA P-256 server certificate for `hosts` (names and IP addresses; the
 * first is the common name), valid for `days`.
 */
export async function makeSelfSignedCertificate(hosts: string[], days: number): Promise<PemPair> {
  const x509 = await loadX509();
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${hosts[0] ?? 'localhost'}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * 86_400_000),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((h): JsonGeneralName =>
          isIP(h) ? { type: 'ip', value: h } : { type: 'dns', value: h },
        ),
      ),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem') + '\n', key };
}

/** Writes a new development certificate and key (mode 0600) to the given files. */
export async function writeSelfSignedCertificate(
  certFile: string,
  keyFile: string,
  hosts: string[],
  days: number,
): Promise<void> {
  const pair = await makeSelfSignedCertificate(hosts, days);
  writeFileSync(keyFile, pair.key, { mode: 0o600 });
  writeFileSync(certFile, pair.cert);
}
