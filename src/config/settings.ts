/**
 * Settings an administrator changes from the web UI: which configuration keys they are, how a
 * change is validated, and how each one is shown with the source that wins (flag > environment >
 * file > UI > default). Saved settings apply when the server restarts.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { sourceFinder, treeOf, type ConfigSource, type ConfigSources } from './load.js';
import { configSchema, type BerthConfig } from './schema.js';

/** The configuration keys the UI may set. */
export const UI_SETTING_KEYS = [
  'domain',
  'tls.cert',
  'tls.key',
  'storage.backend',
  'storage.path',
  'auth.anonymousPull',
  'auth.tokenTtl',
  'repositories.defaultVisibility',
] as const;

/** A UI-settable key. */
export type UiSettingKey = (typeof UI_SETTING_KEYS)[number];

/** A change from the UI; null removes a saved value. */
export const settingsChange = z
  .object({
    domain: z.string().nullable().optional(),
    tls: z
      .object({ cert: z.string().max(100_000), key: z.string().max(100_000) })
      .strict()
      .nullable()
      .optional(),
    storage: z
      .object({ backend: z.enum(['filesystem']), path: z.string().nullable().optional() })
      .strict()
      .nullable()
      .optional(),
    auth: z
      .object({
        anonymousPull: z.boolean().optional(),
        tokenTtl: z.number().int().min(1).max(3600).optional(),
        defaultVisibility: z.enum(['public', 'private']).optional(),
      })
      .strict()
      .nullable()
      .optional(),
  })
  .strict();

/** One setting as the UI shows it. */
export interface SettingView {
  key: UiSettingKey;
  /** What the running server uses. */
  running: unknown;
  /** What the UI saved, if anything. */
  saved: unknown;
  /** Who wins for this key now (for the saved value to matter, this must be `ui` or `default`). */
  source: ConfigSource;
  /** A saved value the running server does not use yet: it applies on restart. */
  pendingRestart: boolean;
}

/** The subject, issuer and validity of a PEM certificate chain's first certificate. */
export function describeCertificate(pem: string): {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  dnsNames: string;
} {
  const cert = new X509Certificate(pem);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    dnsNames: cert.subjectAltName ?? '',
  };
}

function atomicWrite(file: string, text: string, mode: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/**
 * The flat key → value changes a UI change makes (null: remove), validated against the schema.
 * An uploaded certificate and key are checked to belong together and written (0600 for the key)
 * under `<data>/tls/`. Throws Error with a message naming what is wrong.
 */
/** A change to the settings saved through the UI. */
export type SettingsChange = z.infer<typeof settingsChange>;

export function applySettingsChange(
  change: z.infer<typeof settingsChange>,
  dataDir: string,
): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  if (change.domain !== undefined) flat.domain = change.domain === '' ? null : change.domain;
  if (change.storage !== undefined) {
    flat['storage.backend'] = change.storage?.backend ?? null;
    flat['storage.path'] = change.storage?.path || null;
    if (change.storage?.path && !path.isAbsolute(change.storage.path))
      throw new Error('storage.path must be an absolute path');
  }
  if (change.auth !== undefined) {
    flat['auth.anonymousPull'] = change.auth?.anonymousPull ?? null;
    flat['auth.tokenTtl'] = change.auth?.tokenTtl ?? null;
    flat['repositories.defaultVisibility'] = change.auth?.defaultVisibility ?? null;
  }
  if (change.tls !== undefined) {
    if (change.tls === null) {
      flat['tls.cert'] = null;
      flat['tls.key'] = null;
    } else {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(change.tls.cert);
      } catch {
        throw new Error('the certificate is not a PEM X.509 certificate');
      }
      let key;
      try {
        key = createPrivateKey(change.tls.key);
      } catch {
        throw new Error('the key is not a PEM private key');
      }
      if (!cert.checkPrivateKey(key)) throw new Error('the key does not belong to the certificate');
      if (Date.parse(cert.validTo) < Date.now()) throw new Error('the certificate has expired');
      const dir = path.join(dataDir, 'tls');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      atomicWrite(path.join(dir, 'cert.pem'), change.tls.cert, 0o644);
      atomicWrite(path.join(dir, 'key.pem'), change.tls.key, 0o600);
      flat['tls.cert'] = path.join(dir, 'cert.pem');
      flat['tls.key'] = path.join(dir, 'key.pem');
    }
  }
  // The values must make a valid configuration on their own.
  const probe: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) if (value !== null) probe[key] = value;
  const tree = treeOf(probe);
  const checked = configSchema.safeParse(tree);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new Error(`${issue.path.join('.')}: ${issue.message}`);
  }
  return flat;
}

function at(config: BerthConfig, key: string): unknown {
  return key
    .split('.')
    .reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], config);
}

/** Every UI setting with the running value, the saved one, and which source wins. */
export function describeSettings(
  running: BerthConfig,
  sources: ConfigSources,
  saved: Map<string, { value: unknown }>,
): SettingView[] {
  const defaults = configSchema.parse({ data: running.data });
  const sourceOf = sourceFinder(sources);
  return UI_SETTING_KEYS.map((key) => {
    const parts = key.split('.');
    const stored = saved.get(key)?.value;
    const source = sourceOf(parts, stored === undefined ? {} : treeOf({ [key]: stored }));
    const current = at(running, key);
    const atRestart = source === 'ui' ? stored : source === 'default' ? at(defaults, key) : current;
    return {
      key,
      running: current ?? null,
      saved: stored ?? null,
      source,
      pendingRestart: JSON.stringify(atRestart ?? null) !== JSON.stringify(current ?? null),
    };
  });
}
