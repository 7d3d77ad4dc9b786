/**
 * Calling a running Berth's API from the command line (what needs the server itself, like the
 * control plane's live agents): `--server URL` (or BERTH_SERVER), signed in as BERTH_USER with
 * BERTH_PASSWORD (a password or an access token), TLS checked against `--ca-file` (or
 * BERTH_CA_FILE) besides the system's CAs.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Command } from 'commander';

/** Where and as whom to call. */
export interface Remote {
  server: URL;
  authorization: string;
  ca?: string;
}

/** Adds `--server` and `--ca-file`. */
export function withServerFlags(cmd: Command): Command {
  return cmd
    .option('--server <url>', "the Berth server's URL (also BERTH_SERVER)")
    .option('--ca-file <file>', "PEM CA of the server's TLS certificate (also BERTH_CA_FILE)");
}

/** The remote from a command's flags and the environment; throws naming what is missing. */
export function remoteOf(flags: { server?: string; caFile?: string }): Remote {
  const server = flags.server ?? process.env.BERTH_SERVER;
  if (!server) throw new Error('give --server URL (or set BERTH_SERVER)');
  const user = process.env.BERTH_USER;
  const password = process.env.BERTH_PASSWORD;
  if (!user || !password)
    throw new Error('set BERTH_USER and BERTH_PASSWORD (a password or an access token)');
  const caFile = flags.caFile ?? process.env.BERTH_CA_FILE;
  return {
    server: new URL(server),
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    ca: caFile ? readFileSync(caFile, 'utf8') : undefined,
  };
}

/**
 * Calls `method path` with a JSON `body`; resolves with the parsed answer (or the text of a
 * non-JSON one). A refusal throws with the server's one-line message.
 */
export function callApi(
  remote: Remote,
  method: string,
  path: string,
  body?: unknown,
  onText?: (text: string) => void,
): Promise<unknown> {
  const url = new URL(path, remote.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method,
        headers: {
          authorization: remote.authorization,
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': payload.length }
            : {}),
        },
        ...(remote.ca ? { ca: remote.ca } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 500;
        if (status < 300 && onText) {
          res.setEncoding('utf8');
          res.on('data', (t: string) => onText(t));
          res.on('end', () => resolve(undefined));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = text;
          }
          if (status >= 300) {
            const message = (parsed as { errors?: { message?: string }[] })?.errors?.[0]?.message;
            reject(new Error(message ?? `${status} ${text.slice(0, 200)}`));
          } else resolve(parsed);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
