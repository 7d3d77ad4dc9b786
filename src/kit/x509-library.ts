/**
 * The X.509 library (@peculiar/x509 with its ASN.1 stack), loaded when a certificate is first
 * made — by the control plane's CA or `berth tls self-signed` — and not at every start: it is
 * kept out of the bundle and read from node_modules on first use.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

let x509Module: Promise<typeof import('@peculiar/x509')> | undefined;

/** The X.509 library, set to use Node's WebCrypto. */
export function loadX509(): Promise<typeof import('@peculiar/x509')> {
  x509Module ??= import('@peculiar/x509').then((x509) => {
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  });
  return x509Module;
}
