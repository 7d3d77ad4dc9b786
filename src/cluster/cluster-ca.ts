/**
 * The control plane's certificate authority: an ECDSA P-256 CA made on first use (its private key
 * sealed with the master key in the database), which signs each node's certificate at join. A
 * node proves who it is with that certificate and its private key (see node-auth.ts).
 */
import {
  createHash,
  createPublicKey,
  webcrypto,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { loadX509, type SecretBox } from '../kit/index.js';
import type { Meta } from '../meta/index.js';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const KEY_LABEL = 'cluster:ca-key';

const pemOf = (label: string, der: ArrayBuffer): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END ${label}-----\n`;

const derOf = (pem: string): Buffer =>
  Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

const randomSerial = (): string =>
  Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');

/** A node certificate the CA vouches for. */
export interface VerifiedNodeCertificate {
  nodeId: string;
  serial: string;
  publicKey: KeyObject;
}

/** The cluster CA: issues and checks node certificates. */
export class ClusterCa {
  private constructor(
    /** The CA certificate (PEM), handed to nodes at join. */
    readonly certificate: string,
    private readonly caCert: X509Certificate,
    private readonly signingKey: CryptoKey,
  ) {}

  /** Opens the CA saved in `meta`, making it on first use. */
  static async open(meta: Meta, box: SecretBox): Promise<ClusterCa> {
    let saved = await meta.cluster.ca();
    if (!saved) {
      const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
      const now = Date.now();
      const x509 = await loadX509();
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomSerial(),
        name: 'CN=Berth cluster CA',
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 10 * 365 * 86_400_000),
        keys,
        signingAlgorithm: ALGORITHM,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
            true,
          ),
        ],
      });
      const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
      const sealed = box.seal(Buffer.from(pemOf('PRIVATE KEY', pkcs8)), KEY_LABEL);
      // Two replicas starting at once: the first saved wins, both use it.
      saved = await meta.cluster.saveCa(cert.toString('pem') + '\n', sealed);
    }
    const keyPem = box.open(saved.sealedKey, KEY_LABEL).toString();
    const signingKey = await webcrypto.subtle.importKey('pkcs8', derOf(keyPem), ALGORITHM, false, [
      'sign',
    ]);
    return new ClusterCa(saved.certificate, new X509Certificate(saved.certificate), signingKey);
  }

  /** SHA-256 of the CA certificate (hex): what a join token carries for nodes to check. */
  get fingerprint(): string {
    return createHash('sha256').update(this.caCert.raw).digest('hex');
  }

  /** Signs a client certificate for node `nodeId` over `publicKeyPem` (SPKI), valid `days`. */
  async issue(
    nodeId: string,
    publicKeyPem: string,
    days: number,
  ): Promise<{ certificate: string; serial: string }> {
    const publicKey = await webcrypto.subtle.importKey(
      'spki',
      createPublicKey(publicKeyPem).export({ format: 'der', type: 'spki' }),
      ALGORITHM,
      true,
      ['verify'],
    );
    const serial = randomSerial();
    const now = Date.now();
    const x509 = await loadX509();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${nodeId}`,
      issuer: this.caCert.subject.replace(/\n/g, ', '),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + days * 86_400_000),
      publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ],
    });
    return {
      certificate: cert.toString('pem') + '\n',
      serial: new X509Certificate(cert.toString('pem')).serialNumber,
    };
  }

  /**
   * The node a certificate names, when this CA signed it and it is in its validity period;
   * undefined otherwise (a forged, foreign or expired certificate).
   */
  verify(certificatePem: string, now = Date.now()): VerifiedNodeCertificate | undefined {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certificatePem);
    } catch {
      return undefined;
    }
    if (!cert.checkIssued(this.caCert) || !cert.verify(this.caCert.publicKey)) return undefined;
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return undefined;
    const cn = /(?:^|\n|, )CN=([^,\n]+)/.exec(cert.subject)?.[1];
    if (!cn) return undefined;
    return { nodeId: cn, serial: cert.serialNumber, publicKey: cert.publicKey };
  }
}

/** The cluster CA when something first needs it. */
export type ClusterCaSource = () => Promise<ClusterCa>;

/**
 * The cluster CA, opened — and made, with the X.509 library that takes ~19 MiB and ~240 ms to
 * load — the first time the control plane needs it (a join token, a join, an agent connecting),
 * not at every first start of a registry that may never use the control plane. Opened once; a
 * failed open is forgotten, so the next need tries again.
 */
export function clusterCaOnFirstUse(meta: Meta, box: SecretBox): ClusterCaSource {
  let opening: Promise<ClusterCa> | undefined;
  return () => {
    opening ??= ClusterCa.open(meta, box).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
}
