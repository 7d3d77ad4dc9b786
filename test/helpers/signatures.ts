/**
 * cosign and Notation signatures made the way those tools make them, with Node's crypto, jose and
 * openssl (neither CLI is packaged for Debian 12 nor on npm): cosign's "simple signing" payload,
 * signed with an ECDSA P-256 key and stored under cosign's `sha256-<hex>.sig` tag or as an OCI 1.1
 * referrer; Notation's JWS envelope (`notary.x509` scheme) with an X.509 chain from a CA that
 * openssl makes, stored as a referrer with artifact type `application/vnd.cncf.notary.signature`.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlattenedSign, importPKCS8 } from 'jose';
import { blob, type TestBlob } from './content.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY = blob('{}');
const EMPTY_DESCRIPTOR = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: EMPTY.digest,
  size: EMPTY.size,
};

/** A signature ready to push: blobs, then the manifest under `reference`. */
export interface SignatureArtifact {
  blobs: TestBlob[];
  manifest: TestBlob;
  /** cosign's tag, or the manifest's digest for a referrer. */
  reference: string;
}

/** A cosign key pair (`cosign generate-key-pair` makes ECDSA P-256 keys). */
export function cosignKeyPair(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** cosign's simple-signing payload for `digest` pushed as `reference`, byte for byte. */
export function cosignPayload(reference: string, digest: string): Buffer {
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":"${reference}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
  );
}

/**
 * cosign signatures of manifest `subject` by `keys` (one layer each), as `cosign sign --key`
 * stores them: under the `sha256-<hex>.sig` tag, or (`referrer`) as an OCI 1.1 referrer.
 * `payload` overrides what is signed (to tamper with it).
 */
export function cosignSignature(
  keys: KeyObject[],
  subject: { digest: string; size: number },
  reference: string,
  options: { referrer?: boolean; payload?: Buffer; signedPayload?: Buffer } = {},
): SignatureArtifact {
  const payload = blob(options.payload ?? cosignPayload(reference, subject.digest));
  const signed = options.signedPayload ?? payload.bytes;
  const layers = keys.map((key) => ({
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    size: payload.size,
    digest: payload.digest,
    annotations: {
      'dev.cosignproject.cosign/signature': sign('sha256', signed, key).toString('base64'),
    },
  }));
  if (options.referrer) {
    const manifest = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        config: EMPTY_DESCRIPTOR,
        layers,
        subject: { mediaType: MANIFEST, digest: subject.digest, size: subject.size },
      }),
    );
    return { blobs: [EMPTY, payload], manifest, reference: manifest.digest };
  }
  const config = blob(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: [payload.digest] },
      config: {},
    }),
  );
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        size: config.size,
        digest: config.digest,
      },
      layers,
    }),
  );
  return {
    blobs: [config, payload],
    manifest,
    reference: `${subject.digest.replace(':', '-')}.sig`,
  };
}

/** A CA and a leaf signing certificate made by openssl (EC P-256), for Notation. */
export interface NotationSigner {
  caPem: string;
  leafPem: string;
  leafKeyPem: string;
}

/** Makes a CA and a code-signing leaf certificate with openssl, valid from yesterday. */
export function notationSigner(commonName: string): NotationSigner {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'notation-'));
  const at = (f: string) => path.join(dir, f);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  writeFileSync(
    at('ca.cnf'),
    '[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n',
  );
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('ca.key')]);
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    at('ca.key'),
    '-subj',
    `/CN=${commonName} CA`,
    '-days',
    '30',
    '-config',
    at('ca.cnf'),
    '-extensions',
    'v3_ca',
    '-out',
    at('ca.pem'),
  ]);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('leaf.ec')]);
  openssl(['pkcs8', '-topk8', '-nocrypt', '-in', at('leaf.ec'), '-out', at('leaf.key')]);
  openssl([
    'req',
    '-new',
    '-key',
    at('leaf.key'),
    '-subj',
    `/CN=${commonName}`,
    '-out',
    at('leaf.csr'),
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    at('leaf.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    at('ca.cnf'),
    '-extensions',
    'leaf',
    '-out',
    at('leaf.pem'),
  ]);
  const read = (f: string) => readFileSync(at(f), 'utf8');
  const signer = { caPem: read('ca.pem'), leafPem: read('leaf.pem'), leafKeyPem: read('leaf.key') };
  rmSync(dir, { recursive: true, force: true });
  return signer;
}

/**
 * A Notation signature of manifest `subject` by `signer`, as `notation sign` stores it: a JWS
 * envelope whose payload is `{"targetArtifact": descriptor}` (`targetDigest` overrides the digest,
 * to tamper), in a referrer manifest of artifact type `application/vnd.cncf.notary.signature`.
 */
export async function notationSignature(
  signer: NotationSigner,
  subject: { digest: string; size: number },
  options: { targetDigest?: string } = {},
): Promise<SignatureArtifact> {
  const der = (pem: string) => new X509Certificate(pem).raw.toString('base64');
  const payload = JSON.stringify({
    targetArtifact: {
      mediaType: MANIFEST,
      digest: options.targetDigest ?? subject.digest,
      size: subject.size,
    },
  });
  const jws = await new FlattenedSign(new TextEncoder().encode(payload))
    .setProtectedHeader({
      alg: 'ES256',
      crit: ['io.cncf.notary.signingScheme'],
      cty: 'application/vnd.cncf.notary.payload.v1+json',
      'io.cncf.notary.signingScheme': 'notary.x509',
      'io.cncf.notary.signingTime': new Date().toISOString(),
    })
    .setUnprotectedHeader({
      x5c: [der(signer.leafPem), der(signer.caPem)],
      'io.cncf.notary.signingAgent': 'Notation/1.0.0',
    })
    .sign(await importPKCS8(signer.leafKeyPem, 'ES256'), {
      crit: { 'io.cncf.notary.signingScheme': true },
    });
  const envelope = blob(JSON.stringify(jws));
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      artifactType: 'application/vnd.cncf.notary.signature',
      config: EMPTY_DESCRIPTOR,
      layers: [
        { mediaType: 'application/jose+json', digest: envelope.digest, size: envelope.size },
      ],
      subject: { mediaType: MANIFEST, digest: subject.digest, size: subject.size },
      annotations: {
        'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify([
          new X509Certificate(signer.leafPem).fingerprint256.replace(/:/g, '').toLowerCase(),
        ]),
      },
    }),
  );
  return { blobs: [EMPTY, envelope], manifest, reference: manifest.digest };
}
