/**
 * Upstream registries, shared by the pull-through cache (and replication): their URLs in order
 * of preference (a later one is tried when an earlier cannot be reached), credentials (the
 * password sealed with the master key), a private CA, and a bandwidth limit.
 */
import { RegistryClient, type Credentials } from '../client/index.js';
import type { SecretBox } from '../kit/index.js';
import type { UpstreamRecord } from '../meta/index.js';

const PASSWORD_LABEL = (name: string) => `upstream:${name}:password`;

/** Seals an upstream's password for the database. */
export function sealUpstreamPassword(box: SecretBox, name: string, password: string): string {
  return box.seal(Buffer.from(password), PASSWORD_LABEL(name));
}

/** Errors that mean "this URL cannot be reached" (so the next one is tried). */
function unreachable(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code ?? '';
  return [
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EPIPE',
  ].includes(code);
}

/** Clients for one upstream, one per URL, tried in order. */
export class UpstreamClients {
  private readonly clients: RegistryClient[];

  constructor(
    readonly upstream: UpstreamRecord,
    box: SecretBox,
    timeoutMs = 30_000,
  ) {
    const credentials: Credentials | undefined =
      upstream.username && upstream.sealedPassword
        ? {
            kind: 'basic',
            username: upstream.username,
            password: box.open(upstream.sealedPassword, PASSWORD_LABEL(upstream.name)).toString(),
          }
        : undefined;
    this.clients = upstream.urls.map((url) => {
      const parsed = new URL(url);
      return new RegistryClient(parsed.host, {
        base: `${parsed.protocol}//${parsed.host}`,
        credentials,
        ca: upstream.ca ?? undefined,
        timeoutMs,
        attempts: 2,
      });
    });
  }

  /** Runs `work` against the first URL that can be reached; rethrows the last failure. */
  async use<T>(work: (client: RegistryClient) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const client of this.clients) {
      try {
        return await work(client);
      } catch (err) {
        last = err;
        if (!unreachable(err)) throw err;
      }
    }
    throw last;
  }
}
