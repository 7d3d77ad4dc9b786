/** `berth serve`: runs the registry until SIGINT or SIGTERM. */
import type { BerthConfig } from '../config/index.js';
import { buildHttpServer } from '../http/index.js';
import { composeBerth } from './compose.js';

/** Splits `HOST:PORT` (IPv6 hosts in brackets). */
export function splitListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(colon + 1)) };
}

/** Serves until a signal arrives; resolves once shut down cleanly. */
export async function serve(config: BerthConfig): Promise<void> {
  const berth = await composeBerth(config);
  const app = buildHttpServer(berth);
  const { host, port } = splitListen(config.listen);
  const address = await app.listen({ host, port });
  berth.logger.info({ address, data: config.data, auth: config.auth }, 'berth is serving');
  process.stderr.write(
    `berth: serving the registry on ${address} (data: ${config.data}, auth: ${config.auth})\n`,
  );

  const sweep = setInterval(() => {
    berth.registry.uploads
      .expire(config.uploads.expiry * 1000)
      .then((n) => n > 0 && berth.logger.info({ expired: n }, 'expired idle uploads'))
      .catch((err: unknown) => berth.logger.error({ err }, 'upload expiry failed'));
  }, config.uploads.sweepInterval * 1000);
  sweep.unref();

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      berth.logger.info({ signal }, 'shutting down');
      clearInterval(sweep);
      app
        .close()
        .then(() => berth.close())
        .then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
