/**
 * Management API for administrators: the system page (version, health, storage used, database,
 * uptime), garbage collection started and watched from the UI, and the settings page (domain,
 * TLS certificate, storage, authentication options) with the source that wins for each.
 */
import { statfs, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actsAsAdmin, type AuditSink, type AuthService } from '../auth/index.js';
import {
  applySettingsChange,
  describeCertificate,
  describeSettings,
  settingsChange,
  type BerthConfig,
  type ConfigSources,
} from '../config/index.js';
import type { Meta } from '../meta/index.js';
import { BerthError } from '../oci/index.js';
import type { Registry } from '../registry/index.js';
import { apiActor, bodyOf, json } from './api-common.js';
import { clientAddress } from './auth-edge.js';

const STARTED = Date.now();

async function administrator(auth: AuthService, req: FastifyRequest, reply: FastifyReply) {
  const actor = await apiActor(auth, req, reply);
  if (!actsAsAdmin(actor.principal))
    throw new BerthError(
      'DENIED',
      actor.principal.admin
        ? `an access token with ${actor.principal.cap} access may not administer Berth`
        : 'this page is for administrators',
    );
  return actor;
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

/** Registers /api/v1/system, /api/v1/system/gc and /api/v1/settings. */
export function registerSystemRoutes(
  app: FastifyInstance,
  auth: AuthService,
  parts: {
    meta: Meta;
    registry: Registry;
    version: string;
    audit?: AuditSink;
    settings?: { sources: ConfigSources; running: BerthConfig };
  },
): void {
  const { meta, registry, settings } = parts;
  /** The settings page: each setting with its sources, and the certificates in use and saved. */
  const settingsView = async (s: { sources: ConfigSources; running: BerthConfig }) => {
    const saved = await meta.catalog.settings();
    return {
      settings: describeSettings(s.running, s.sources, saved),
      certificate: certificateOf(s.running.tls.cert),
      savedCertificate: certificateOf(saved.get('tls.cert')?.value as string | undefined),
      precedence: ['flag', 'env', 'file', 'ui', 'default'],
    };
  };
  app.get('/api/v1/info', async (_req, reply) => {
    json(reply, {
      name: 'Berth',
      version: parts.version,
      domain: settings?.running.domain ?? null,
    });
  });
  app.get('/api/v1/system', async (req, reply) => {
    await administrator(auth, req, reply);
    let healthy = true;
    try {
      await meta.ping();
    } catch {
      healthy = false;
    }
    const running = settings?.running;
    const storagePath = running
      ? (running.storage.path ?? path.join(running.data, 'storage'))
      : null;
    const c = await meta.catalog.totals();
    let disk: { total: number; free: number } | null = null;
    if (storagePath) {
      try {
        const s = await statfs(storagePath).catch(() => statfs(running!.data));
        disk = { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
      } catch {
        disk = null;
      }
    }
    const dbFile = running ? path.join(running.data, 'berth.db') : null;
    json(reply, {
      version: parts.version,
      health: healthy ? 'ok' : 'failing',
      startedAt: new Date(STARTED).toISOString(),
      uptimeSeconds: Math.round((Date.now() - STARTED) / 1000),
      node: process.version,
      storage: {
        backend: running?.storage.backend ?? 'filesystem',
        path: storagePath,
        blobs: Number(c.blobs),
        bytes: Number(c.bytes),
        disk,
      },
      database: {
        kind: 'sqlite',
        path: dbFile,
        bytes: dbFile ? await fileBytes(dbFile) : null,
        repositories: Number(c.repositories),
        manifests: Number(c.manifests),
      },
      memory: { rss: process.memoryUsage().rss },
      gc: registry.gcRunner.current(),
    });
  });

  app.get('/api/v1/system/gc', async (req, reply) => {
    await administrator(auth, req, reply);
    json(reply, registry.gcRunner.current());
  });
  app.post('/api/v1/system/gc', async (req, reply) => {
    const actor = await administrator(auth, req, reply);
    const body = (req.body ?? {}) as { dryRun?: unknown };
    const gc = settings?.running.gc ?? { untagged: 'keep', grace: 3600 };
    const status = await registry.gcRunner.start({
      dryRun: body.dryRun === true,
      deleteUntagged: gc.untagged === 'delete',
      graceMs: gc.grace * 1000,
    });
    await parts.audit?.record({
      actor: actor.principal.name,
      action: 'gc.start',
      target: null,
      outcome: 'success',
      address: clientAddress(req),
      detail: { dryRun: status.dryRun },
    });
    json(reply, status, 202);
  });

  app.get('/api/v1/settings', async (req, reply) => {
    await administrator(auth, req, reply);
    if (!settings) throw new BerthError('UNSUPPORTED', 'settings are only shown by berth serve');
    json(reply, await settingsView(settings));
  });
  app.put('/api/v1/settings', async (req, reply) => {
    const actor = await administrator(auth, req, reply);
    if (!settings) throw new BerthError('UNSUPPORTED', 'settings are only changed by berth serve');
    const change = bodyOf(settingsChange, req);
    let flat: Record<string, unknown>;
    try {
      flat = applySettingsChange(change, settings.running.data);
    } catch (err) {
      throw new BerthError('INVALID_REQUEST', (err as Error).message);
    }
    await meta.catalog.putSettings(flat, actor.principal.name);
    await parts.audit?.record({
      actor: actor.principal.name,
      action: 'settings.update',
      target: null,
      outcome: 'success',
      address: clientAddress(req),
      detail: { keys: Object.keys(flat) },
    });
    json(reply, { ...(await settingsView(settings)), restartNeeded: true });
  });
}
