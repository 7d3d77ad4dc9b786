/**
 * Notary-flavoured TUF metadata made the way the notary client makes it (root keys as X.509
 * certificates whose CN is the GUN, ECDSA P-256 raw r||s signatures over canonical JSON), so
 * tests can publish valid files — and tampered ones.
 */
import 'reflect-metadata';
import { createHash, generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { canonicalize } from '@tufjs/canonical-json';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** A key as metadata lists it, its ID and the private half. */
export interface TestKey {
  key: { keytype: string; keyval: { private: null; public: string } };
  id: string;
  privateKey: KeyObject;
}

function keyId(key: TestKey['key']): string {
  return createHash('sha256').update(canonicalize(key)).digest('hex');
}

/** A plain `ecdsa` key (targets, delegations, snapshot). */
export function ecdsaKey(): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = {
    keytype: 'ecdsa',
    keyval: {
      private: null,
      public: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    },
  };
  return { key, id: keyId(key), privateKey };
}

/**
 * An `ecdsa-x509` root key: a self-signed certificate for `commonName` (the GUN), signed with
 * SHA-256 unless `hash` says otherwise.
 */
export async function rootKey(
  commonName: string,
  validity: { from?: Date; to?: Date } = {},
  hash: 'SHA-256' | 'SHA-1' = 'SHA-256',
): Promise<TestKey> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${commonName}`,
    notBefore: validity.from ?? new Date(Date.now() - 60_000),
    notAfter: validity.to ?? new Date(Date.now() + 365 * 86_400_000),
    keys,
    signingAlgorithm: alg,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const { createPrivateKey } = await import('node:crypto');
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const key = {
    keytype: 'ecdsa-x509',
    keyval: { private: null, public: Buffer.from(cert.toString('pem')).toString('base64') },
  };
  return { key, id: keyId(key), privateKey };
}

/** A server key as `GET <role>.key` returns it. */
export function serverKey(json: string): { key: TestKey['key']; id: string } {
  const parsed = JSON.parse(json) as { keytype: string; keyval: { public: string } };
  const key = {
    keytype: parsed.keytype,
    keyval: { private: null as null, public: parsed.keyval.public },
  };
  return { key, id: keyId(key) };
}

/** A signed file: `{"signed":…,"signatures":[…]}`, signed by `keys` (raw r||s ECDSA). */
export function signFile(signed: unknown, keys: TestKey[]): Buffer {
  const data = Buffer.from(canonicalize(signed));
  const signatures = keys.map((k) => ({
    keyid: k.id,
    method: 'ecdsa',
    sig: sign('sha256', data, { key: k.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64'),
  }));
  return Buffer.from(JSON.stringify({ signed, signatures }));
}

/** An RFC 3339 time `days` from now. */
export function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}

/** Hashes and length of a file, as snapshot lists it. */
export function fileMeta(bytes: Buffer): { hashes: { sha256: string }; length: number } {
  return {
    hashes: { sha256: createHash('sha256').update(bytes).digest('base64') },
    length: bytes.length,
  };
}

/** The signed part of a root. */
export function rootSigned(options: {
  version: number;
  root: TestKey[];
  targets: TestKey;
  snapshot: { key: TestKey['key']; id: string };
  timestamp: { key: TestKey['key']; id: string };
  threshold?: number;
  expires?: string;
}): Record<string, unknown> {
  const keys: Record<string, unknown> = {};
  for (const k of [...options.root, options.targets, options.snapshot, options.timestamp])
    keys[k.id] = k.key;
  return {
    _type: 'Root',
    consistent_snapshot: false,
    expires: options.expires ?? inDays(3650),
    keys,
    roles: {
      root: { keyids: options.root.map((k) => k.id), threshold: options.threshold ?? 1 },
      snapshot: { keyids: [options.snapshot.id], threshold: 1 },
      targets: { keyids: [options.targets.id], threshold: 1 },
      timestamp: { keyids: [options.timestamp.id], threshold: 1 },
    },
    version: options.version,
  };
}

/** The signed part of a targets (or delegation) file. */
export function targetsSigned(options: {
  version: number;
  targets?: Record<string, { digest: string; length: number }>;
  delegations?: { name: string; keys: TestKey[]; threshold?: number; paths?: string[] }[];
  expires?: string;
}): Record<string, unknown> {
  const targets: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(options.targets ?? {}))
    targets[name] = {
      hashes: { sha256: Buffer.from(t.digest.replace(/^sha256:/, ''), 'hex').toString('base64') },
      length: t.length,
    };
  const keys: Record<string, unknown> = {};
  const roles = (options.delegations ?? []).map((d) => {
    for (const k of d.keys) keys[k.id] = k.key;
    return {
      keyids: d.keys.map((k) => k.id),
      name: d.name,
      paths: d.paths ?? [''],
      threshold: d.threshold ?? 1,
    };
  });
  return {
    _type: 'Targets',
    delegations: { keys, roles },
    expires: options.expires ?? inDays(1095),
    targets,
    version: options.version,
  };
}

/** A multipart/form-data body with one `files` part per role, as notary clients send it. */
export function publishBody(parts: Record<string, Buffer>): { body: Buffer; contentType: string } {
  const boundary = 'a'.repeat(20) + Date.now().toString(16);
  const chunks: Buffer[] = [];
  for (const [role, bytes] of Object.entries(parts)) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      bytes,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
