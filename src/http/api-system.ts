/**
 * Management API for administrators: the system page (version, health, storage used, database,
 * uptime), garbage collection started and watched from the UI, and the settings page (domain,
 * TLS certificate, storage, authentication options) with the source that wins for each.
 */
import type { AuthService } from '../auth/index.js';
import type { RouteTable } from './lazy-routes.js';
import { settingsChange } from '../config/index.js';
import type { SystemService } from '../manage/index.js';
import { apiActor, bodyOf, json } from './api-common.js';

/** Registers /api/v1/info, /api/v1/system, /api/v1/system/gc and /api/v1/settings. */
export function registerSystemRoutes(
  app: RouteTable,
  auth: AuthService,
  system: SystemService,
): void {
  app.get('/api/v1/info', async (_req, reply) => json(reply, system.info()));
  app.get('/api/v1/system', async (req, reply) =>
    json(reply, await system.status(await apiActor(auth, req, reply))),
  );
  app.get('/api/v1/system/gc', async (req, reply) =>
    json(reply, system.gcStatus(await apiActor(auth, req, reply))),
  );
  app.post('/api/v1/system/gc', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    const body = (req.body ?? {}) as { dryRun?: unknown };
    json(reply, await system.startGc(actor, body.dryRun === true), 202);
  });
  app.get('/api/v1/settings', async (req, reply) =>
    json(reply, await system.settingsView(await apiActor(auth, req, reply))),
  );
  app.put('/api/v1/settings', async (req, reply) => {
    const actor = await apiActor(auth, req, reply);
    json(reply, await system.saveSettings(actor, bodyOf(settingsChange, req)));
  });
}
