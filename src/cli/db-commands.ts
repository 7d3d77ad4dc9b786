/** `berth migrate`, `berth db export`, `berth db import`: the database's schema and moving it. */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { BerthConfig } from '../config/index.js';
import { exportLines, importLines } from '../meta/index.js';
import { createCliLogger } from '../obs/index.js';
import { openTokenKeys } from './compose.js';
import { openDatabase } from './compose-stores.js';
import { withDataFlags, type ConfigFrom } from './directory.js';

type Flags = { config?: string; data?: string; output?: string };

function where(config: BerthConfig): string {
  return config.database.url
    ? config.database.url.replace(/\/\/[^@/]*@/, '//…@')
    : `${config.data}/berth.db`;
}

/** Registers `berth migrate`, `berth db export|import` and `berth keys rotate`. */
export function registerDbCommands(program: Command, configFrom: ConfigFrom): void {
  const keys = program.command('keys').description('the keys that sign tokens');
  withDataFlags(
    keys
      .command('rotate')
      .description(
        'make a new token signing key; the old one verifies until the tokens it signed expire',
      ),
  ).action(async (f: Flags) => {
    const config = configFrom(f);
    const database = await openDatabase(config, createCliLogger());
    try {
      const signing = await openTokenKeys(config, database.meta);
      // The old key outlives the longest token it signed, plus a minute for clocks and replicas.
      const kid = await signing.rotate((config.auth.tokenTtl + 60) * 1000);
      process.stdout.write(
        `new token signing key ${kid}; the previous key verifies for ${config.auth.tokenTtl + 60} s more\n`,
      );
    } finally {
      await database.close();
    }
  });
  withDataFlags(
    program.command('migrate').description('bring the database schema up to date'),
  ).action(async (f: Flags) => {
    const config = configFrom(f);
    const database = await openDatabase(config, createCliLogger());
    await database.close();
    process.stdout.write(`database ${where(config)} is at the latest schema\n`);
  });
  const db = program.command('db').description('the metadata database');
  withDataFlags(
    db.command('export').description('write every table as JSON lines (blobs stay in storage)'),
  )
    .option('-o, --output <file>', 'write here instead of standard output')
    .action(async (f: Flags) => {
      const config = configFrom(f);
      const database = await openDatabase(config, createCliLogger());
      try {
        // Loading the signing keys seals any an older version kept in the clear, so none is exported so.
        await openTokenKeys(config, database.meta);
        const out = f.output ? createWriteStream(f.output, { mode: 0o600 }) : process.stdout;
        for await (const line of exportLines(database.db))
          if (!out.write(`${line}\n`)) await once(out, 'drain');
        if (f.output) {
          out.end();
          await once(out, 'finish');
        }
      } finally {
        await database.close();
      }
    });
  withDataFlags(
    db
      .command('import <file>')
      .description('load an export into the configured (empty) database, e.g. PostgreSQL'),
  ).action(async (file: string, f: Flags) => {
    const config = configFrom(f);
    const database = await openDatabase(config, createCliLogger());
    try {
      const lines = createInterface({
        input: file === '-' ? process.stdin : createReadStream(file),
        crlfDelay: Infinity,
      });
      const counts = await importLines(database.db, lines, database.dialect);
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      process.stdout.write(
        `imported ${total} rows into ${where(config)}: ${JSON.stringify(counts)}\n`,
      );
    } finally {
      await database.close();
    }
  });
}
