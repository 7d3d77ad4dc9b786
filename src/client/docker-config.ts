/**
 * Credentials as the docker CLI keeps them: `~/.docker/config.json` (or `$DOCKER_CONFIG`), with
 * inline `auths`, identity tokens, and credential helpers (`credHelpers`, `credsStore`).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Credentials for one registry. */
export type Credentials =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'identity-token'; username: string; token: string };

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

/** The docker CLI configuration file this process uses. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
}

function readConfig(file: string): ConfigFile {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ConfigFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

function fromHelper(helper: string, registry: string): Credentials | undefined {
  const r = spawnSync(`docker-credential-${helper}`, ['get'], {
    input: registry,
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`credential helper docker-credential-${helper}: ${r.error.message}`);
  if (r.status !== 0) return undefined; // the helper knows no credentials for this registry
  const out = JSON.parse(r.stdout) as { Username: string; Secret: string };
  return out.Username === '<token>'
    ? { kind: 'identity-token', username: out.Username, token: out.Secret }
    : { kind: 'basic', username: out.Username, password: out.Secret };
}

/** The stored credentials for `registry`, or undefined. */
export function storedCredentials(
  registry: string,
  file = dockerConfigPath(),
): Credentials | undefined {
  const config = readConfig(file);
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper) {
    const found = fromHelper(helper, registry);
    if (found) return found;
  }
  const entry = config.auths?.[registry];
  if (!entry) return undefined;
  const decoded = entry.auth ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const username = colon >= 0 ? decoded.slice(0, colon) : '';
  if (entry.identitytoken) return { kind: 'identity-token', username, token: entry.identitytoken };
  if (colon < 0) return undefined;
  return { kind: 'basic', username, password: decoded.slice(colon + 1) };
}

function writeConfig(file: string, config: ConfigFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  renameSync(temp, file);
}

/** Stores credentials for `registry` the way `docker login` does without a helper. */
export function storeCredentials(
  registry: string,
  username: string,
  password: string,
  file = dockerConfigPath(),
): void {
  const config = readConfig(file);
  config.auths = {
    ...config.auths,
    [registry]: { auth: Buffer.from(`${username}:${password}`).toString('base64') },
  };
  writeConfig(file, config);
}

/** Forgets the credentials for `registry`; true when there were some. */
export function forgetCredentials(registry: string, file = dockerConfigPath()): boolean {
  const config = readConfig(file);
  if (!config.auths?.[registry]) return false;
  delete config.auths[registry];
  writeConfig(file, config);
  return true;
}
