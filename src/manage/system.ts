/**
 * Running Berth, for administrators: health, the system page (version, storage used, database,
 * uptime), garbage collection started and watched from the UI, and the settings saved through the
 * UI with the source that wins for each.
 */
import { readFileSync } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { actsAsAdmin, type Actor, type AuditSink } from '../auth/index.js';
import {
  applySettingsChange,
  describeCertificate,
  describeSettings,
  type BerthConfig,
  type ConfigSources,
  type SettingsChange,
} from '../config/index.js';
import { isDatabaseFull, type Meta } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import type { Registry } from '../registry/index.js';

/** How the running configuration was made. */
export interface RunningSettings {
  sources: ConfigSources;
  running: BerthConfig;
}

/** Whether `err` says the database's disk is full (for the HTTP edge's 507). */
export function databaseFull(err: unknown): boolean {
  return isDatabaseFull(err);
}

async function fileBytes(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch {
    return null;
  }
}

function certificateOf(file: string | undefined) {
  if (!file) return null;
  try {
    return describeCertificate(readFileSync(file, 'utf8'));
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Throws DENIED unless `actor` acts as an administrator. */
function requireAdministrator(actor: Actor): void {
  if (!actsAsAdmin(actor.principal))
    throw new BerthError(
      'DENIED',
      actor.principal.admin
        ? `an access token with ${actor.principal.cap} access may not administer Berth`
        : 'this page is for administrators',
    );
}

/** The system and settings views, and garbage collection on demand. */
export class SystemService {
  private readonly started = Date.now();

  constructor(
    private readonly meta: Meta,
    private readonly registry: Registry,
    private readonly version: string,
    private readonly settings?: RunningSettings,
    private readonly audit?: AuditSink,
  ) {}

  /** Resolves when the database answers; throws otherwise. */
  async health(): Promise<void> {
    await this.meta.ping();
  }

  /** What anyone may know: name, version, public domain. */
  info() {
    return { name: 'Berth', version: this.version, domain: this.settings?.running.domain ?? null };
  }

  /** The system page (administrators). */
  async status(actor: Actor) {
    requireAdministrator(actor);
    const healthy = await this.health().then(
      () => true,
      () => false,
    );
    const running = this.settings?.running;
    const storagePath = running
      ? (running.storage.path ?? path.join(running.data, 'storage'))
      : null;
    const c = await this.meta.catalog.totals();
    let disk: { total: number; free: number } | null = null;
    if (storagePath) {
      try {
        const s = await statfs(storagePath).catch(() => statfs(running!.data));
        disk = { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
      } catch {
        disk = null;
      }
    }
    const dbFile = running && !running.database.url ? path.join(running.data, 'berth.db') : null;
    return {
      version: this.version,
      health: healthy ? 'ok' : 'failing',
      startedAt: new Date(this.started).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      node: process.version,
      storage: {
        backend: running?.storage.backend ?? 'filesystem',
        path: storagePath,
        blobs: Number(c.blobs),
        bytes: Number(c.bytes),
        disk,
      },
      database: {
        kind: this.meta.dialect,
        path: dbFile,
        bytes: dbFile ? await fileBytes(dbFile) : null,
        repositories: Number(c.repositories),
        manifests: Number(c.manifests),
      },
      memory: { rss: process.memoryUsage().rss },
      gc: this.registry.gcRunner.current(),
    };
  }

  /** The collection running or last run (administrators). */
  gcStatus(actor: Actor) {
    requireAdministrator(actor);
    return this.registry.gcRunner.current();
  }

  /** Starts a collection in the background (administrators). */
  async startGc(actor: Actor, dryRun: boolean) {
    requireAdministrator(actor);
    const gc = this.settings?.running.gc ?? { untagged: 'keep', grace: 3600 };
    const status = await this.registry.gcRunner.start({
      dryRun,
      deleteUntagged: gc.untagged === 'delete',
      graceMs: gc.grace * 1000,
    });
    await this.audit?.record({
      actor: actor.principal.name,
      action: 'gc.start',
      target: null,
      outcome: 'success',
      address: actor.address,
      detail: { dryRun: status.dryRun },
    });
    return status;
  }

  private running(what: string): RunningSettings {
    if (!this.settings)
      throw new BerthError('UNSUPPORTED', `settings are only ${what} berth serve`);
    return this.settings;
  }

  /** The settings page: each setting with its sources, and the certificates in use and saved. */
  async settingsView(actor: Actor) {
    requireAdministrator(actor);
    const s = this.running('shown by');
    const saved = await this.meta.catalog.settings();
    return {
      settings: describeSettings(s.running, s.sources, saved),
      certificate: certificateOf(s.running.tls.cert),
      savedCertificate: certificateOf(saved.get('tls.cert')?.value as string | undefined),
      precedence: ['flag', 'env', 'file', 'ui', 'default'],
    };
  }

  /** Saves settings for the next start (administrators); returns the settings page. */
  async saveSettings(actor: Actor, change: SettingsChange) {
    requireAdministrator(actor);
    const s = this.running('changed by');
    let flat: Record<string, unknown>;
    try {
      flat = applySettingsChange(change, s.running.data);
    } catch (err) {
      throw new BerthError('INVALID_REQUEST', (err as Error).message);
    }
    await this.meta.catalog.putSettings(flat, actor.principal.name);
    await this.audit?.record({
      actor: actor.principal.name,
      action: 'settings.update',
      target: null,
      outcome: 'success',
      address: actor.address,
      detail: { keys: Object.keys(flat) },
    });
    return { ...(await this.settingsView(actor)), restartNeeded: true };
  }
}
