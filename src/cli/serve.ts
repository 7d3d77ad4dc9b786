/** `berth serve`: runs the registry until SIGINT or SIGTERM. */
import { readFileSync } from 'node:fs';
import { ensureAdministrator } from '../auth/index.js';
import { loadConfig, treeOf, type ConfigSources } from '../config/index.js';
import type { Meta } from '../meta/index.js';
import { localActor } from '../auth/index.js';
import { buildHttpServer, buildMetricsServer, fanOutWhenBusy } from '../http/index.js';
import { composeBerth } from './compose.js';
import { openDatabase } from './compose-stores.js';

/** Splits `HOST:PORT` (IPv6 hosts in brackets). */
export function splitListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(colon + 1)) };
}

/** Creates the first administrator when there is none, printing a generated password once. */
async function bootstrap(meta: Parameters<typeof ensureAdministrator>[0]): Promise<void> {
  const result = await ensureAdministrator(meta, process.env.BERTH_ADMIN_PASSWORD || undefined);
  if (!result.created) return;
  if (result.generatedPassword)
    process.stderr.write(
      `berth: created administrator "${result.name}" with password ${result.generatedPassword}\n` +
        'berth: this password is shown only now; change it with `berth user passwd admin`\n',
    );
  else
    process.stderr.write(
      `berth: created administrator "${result.name}" (password from BERTH_ADMIN_PASSWORD)\n`,
    );
}

/** The settings saved through the UI in the data directory's database, as a config tree. */
async function savedSettings(meta: Meta): Promise<Record<string, unknown>> {
  const saved = await meta.catalog.settings();
  return treeOf(Object.fromEntries([...saved].map(([key, v]) => [key, v.value])));
}

/**
 * Serves until a signal arrives; resolves once shut down cleanly. The configuration is the
 * defaults, then settings saved through the UI, then `sources` (file, environment, flags).
 * `serving` is called once the registry answers, with its address.
 */
export async function serve(
  base: ConfigSources,
  serving?: (address: string) => void,
): Promise<void> {
  const initial = loadConfig(base);
  // The database is opened once: the settings saved in it cannot move the database itself.
  const database = await openDatabase(initial);
  const sources = { ...base, stored: await savedSettings(database.meta) };
  const config = loadConfig(sources);
  const berth = await composeBerth(config, undefined, database, sources);
  if (berth.auth) await bootstrap(berth.meta);
  // Directory accounts are brought in step on a timer (accounts gone are disabled).
  const syncEvery = config.identity.syncMinutes * 60_000;
  const sync =
    berth.auth && config.identity.providers.length > 0 && syncEvery > 0
      ? setInterval(() => {
          berth
            .auth!.identity.sync(localActor('scheduled sync'))
            .catch((err: unknown) => berth.logger.warn({ err }, 'directory sync'));
        }, syncEvery)
      : undefined;
  sync?.unref();
  const tls =
    config.tls.cert && config.tls.key
      ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }
      : undefined;
  const deps = { ...berth, tls, options: config };
  const app = buildHttpServer(deps);
  const { host, port } = splitListen(config.listen);
  // A long accept queue: a burst of new connections waits for the event loop instead of being
  // dropped by the kernel (the kernel caps it at net.core.somaxconn).
  const address = await app.listen({ host, port, backlog: 8192 });
  // The engine that runs builds pushes here (loopback for a wildcard listener).
  const bound = new URL(address);
  berth.listening(
    `${['0.0.0.0', '[::]', '::'].includes(bound.hostname) ? '127.0.0.1' : bound.hostname}:${bound.port}`,
  );
  const metricsApp = config.metrics.listen ? buildMetricsServer(deps) : undefined;
  if (metricsApp && config.metrics.listen) {
    const at = splitListen(config.metrics.listen);
    const metricsAddress = await metricsApp.listen({ host: at.host, port: at.port });
    process.stderr.write(`berth: serving metrics on ${metricsAddress}/metrics\n`);
  }
  berth.logger.info({ address, data: config.data, auth: config.auth.mode }, 'berth is serving');
  process.stderr.write(
    `berth: serving the registry on ${address} (data: ${config.data}, auth: ${config.auth.mode})\n`,
  );
  serving?.(address);

  // One new connection per turn of the event loop and descriptor: copies of the listener take
  // a burst of new connections while a thousand others keep the loop busy. Made when the server
  // first holds many connections; only a speed-up: without them the listener alone accepts.
  const fanout = fanOutWhenBusy(app.server, config.limits.acceptors, 8192, (err: unknown) =>
    berth.logger.warn({ err }, 'copies of the listening socket could not be made'),
  );

  // Background work runs under database leases, so with several replicas it runs once.
  const sweep = setInterval(() => {
    berth.registry.leased
      .run('uploads.expire', config.uploads.sweepInterval * 1000, () =>
        berth.registry.uploads.expire(config.uploads.expiry * 1000),
      )
      .then(
        (r) =>
          r.ran && r.value > 0 && berth.logger.info({ expired: r.value }, 'expired idle uploads'),
      )
      .catch((err: unknown) => berth.logger.error({ err }, 'upload expiry failed'));
  }, config.uploads.sweepInterval * 1000);
  sweep.unref();
  // Signing keys rotated by `berth keys rotate` or another replica are picked up within a minute.
  const keyReload = berth.auth
    ? setInterval(() => {
        berth
          .auth!.keys.reload()
          .catch((err: unknown) =>
            berth.logger.error({ err }, 'reloading the token signing keys failed'),
          );
      }, 60_000)
    : undefined;
  keyReload?.unref();
  const collector =
    config.gc.interval > 0
      ? setInterval(() => {
          berth.registry.gcRunner
            .start({
              dryRun: false,
              deleteUntagged: config.gc.untagged === 'delete',
              graceMs: config.gc.grace * 1000,
            })
            .catch((err: unknown) => berth.logger.error({ err }, 'garbage collection failed'));
        }, config.gc.interval * 1000)
      : undefined;
  collector?.unref();

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      berth.logger.info({ signal }, 'shutting down');
      clearInterval(sweep);
      if (keyReload) clearInterval(keyReload);
      if (collector) clearInterval(collector);
      fanout.close();
      Promise.all([app.close(), metricsApp?.close()])
        .then(() => berth.close())
        .then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
