/** Running management operations on the data directory itself (safe while a server runs). */
import os from 'node:os';
import { localActor, type Actor, type AuthService } from '../auth/index.js';
import type { Command } from 'commander';
import type { BerthConfig } from '../config/index.js';
import type { Meta } from '../meta/index.js';
import { AuditLog } from '../events/index.js';
import { createCliLogger } from '../obs/index.js';
import { openAuth } from './compose.js';
import { openDatabase } from './compose-stores.js';

/** Builds the configuration from a command's `--config` and `--data` flags. */
export type ConfigFrom = (flags: { config?: string; data?: string }) => BerthConfig;

/** Adds `--config` and `--data`, which every command working on the data directory takes. */
export function withDataFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML configuration file (also BERTH_CONFIG)')
    .option('-d, --data <dir>', 'data directory (default ./data; also BERTH_DATA)');
}

/**
 * Opens the data directory's database, runs `work` as the local operator with the command's audit
 * log (its entries written before the database closes), and closes it.
 */
export async function withDirectory<T>(
  config: BerthConfig,
  work: (auth: AuthService, actor: Actor, meta: Meta, audit: AuditLog) => Promise<T>,
): Promise<T> {
  const logger = createCliLogger();
  const database = await openDatabase(config, logger);
  try {
    const { meta } = database;
    const audit = new AuditLog(meta, logger);
    const auth = await openAuth(config, meta, audit);
    const result = await work(auth, localActor(os.userInfo().username), meta, audit);
    await audit.drain();
    return result;
  } finally {
    await database.close();
  }
}

/** Prints one line on standard output. */
export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Reads a secret from standard input (one line, without its newline). */
export async function readStdinSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Prints `rows` as JSON or as aligned columns. */
export function printRows(rows: Record<string, unknown>[], columns: string[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  const cell = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(
    `${[line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n')}\n`,
  );
}
