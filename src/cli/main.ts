/** Berth's command line. */
import { Command, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { loadConfig, type BerthConfig, type ConfigSources } from '../config/index.js';
import { registerAccountCommands } from './account-commands.js';
import { registerWebhookCommands } from './webhook-commands.js';
import { registerBuildCommands } from './build-commands.js';
import { registerClusterCommands } from './cluster-commands.js';
import { registerCacheCommands } from './cache-commands.js';
import {
  registerImmutableCommands,
  registerQuotaCommands,
  registerRetentionCommands,
} from './governance-commands.js';
import { registerImageCommands } from './image-commands.js';
import { berthVersion } from './compose.js';
import { runGc } from './gc.js';
import { serve } from './serve.js';
import { withDataFlags } from './directory.js';
import { registerTrustCommands } from './trust-commands.js';
import { registerDbCommands } from './db-commands.js';

interface CommonFlags {
  config?: string;
  data?: string;
  listen?: string;
  auth?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function sourcesFrom(flags: CommonFlags, extra: Record<string, unknown> = {}): ConfigSources {
  return {
    file: flags.config,
    overrides: {
      data: flags.data,
      listen: flags.listen,
      auth: { mode: flags.auth },
      tls: { cert: flags.tlsCert, key: flags.tlsKey },
      ...extra,
    },
  };
}

function configFrom(flags: CommonFlags, extra: Record<string, unknown> = {}): BerthConfig {
  return loadConfig(sourcesFrom(flags, extra));
}

/**
 * What the process running the command line hears of: `serving` once `berth serve` answers, with
 * the registry's address (`http://host:port`).
 */
export interface MainHooks {
  serving?: (address: string) => void;
}

/** Runs the command line with `argv` (process.argv shape). */
export async function main(argv: string[], hooks: MainHooks = {}): Promise<void> {
  const program = new Command('berth')
    .description('Berth container registry')
    .version(berthVersion())
    .showHelpAfterError();

  withDataFlags(program.command('serve').description('serve the registry'))
    .option(
      '-l, --listen <host:port>',
      'address to listen on (default 127.0.0.1:5000; also BERTH_LISTEN)',
    )
    .addOption(
      new Option('--auth <mode>', 'authentication: token or none (also BERTH_AUTH_MODE)').choices([
        'token',
        'none',
      ]),
    )
    .option(
      '--tls-cert <file>',
      'serve HTTPS with this PEM certificate chain (also BERTH_TLS_CERT)',
    )
    .option('--tls-key <file>', 'the PEM private key of --tls-cert (also BERTH_TLS_KEY)')
    .action(async (flags: CommonFlags) => serve(sourcesFrom(flags), hooks.serving));

  withDataFlags(program.command('gc').description('remove blobs and manifests nothing references'))
    .option('--dry-run', 'only report what would be removed', false)
    .addOption(
      new Option('--untagged <policy>', 'untagged manifests: keep or delete').choices([
        'keep',
        'delete',
      ]),
    )
    .option('--grace <seconds>', 'only remove what has been unreferenced this long')
    .option('--json', 'print the report as JSON', false)
    .action(
      async (
        flags: CommonFlags & { dryRun: boolean; untagged?: string; grace?: string; json: boolean },
      ) => {
        const config = configFrom(flags, { gc: { untagged: flags.untagged, grace: flags.grace } });
        await runGc(config, { dryRun: flags.dryRun, json: flags.json });
      },
    );

  const configCmd = program.command('config').description('configuration');
  withDataFlags(
    configCmd.command('print').description('print the effective configuration as YAML'),
  ).action((flags: CommonFlags) => {
    process.stdout.write(toYaml(configFrom(flags)));
  });

  program
    .command('tls')
    .description('TLS certificates')
    .command('self-signed')
    .description('make a self-signed development certificate and key for `serve --tls-cert`')
    .requiredOption('--cert <file>', 'where to write the PEM certificate')
    .requiredOption('--key <file>', 'where to write the PEM private key (mode 0600)')
    .option(
      '--host <name>',
      'a DNS name or IP address the certificate is for (repeatable; default localhost and 127.0.0.1)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--days <n>', 'days the certificate is valid', '365')
    .action(async (flags: { cert: string; key: string; host?: string[]; days: string }) => {
      const days = Number(flags.days);
      if (!Number.isInteger(days) || days < 1) throw new Error('--days must be a positive integer');
      const hosts = flags.host ?? ['localhost', '127.0.0.1'];
      // Loaded on demand: the X.509 library costs every other command's start-up time.
      const { writeSelfSignedCertificate } = await import('./dev-certificate.js');
      await writeSelfSignedCertificate(flags.cert, flags.key, hosts, days);
      process.stderr.write(
        `berth: wrote a self-signed certificate for ${hosts.join(', ')} to ${flags.cert}\n`,
      );
    });

  registerAccountCommands(program, (flags) => configFrom(flags));
  registerWebhookCommands(program, (flags) => configFrom(flags));
  registerBuildCommands(program, (flags) => configFrom(flags));
  registerClusterCommands(program);
  registerCacheCommands(program, (flags) => configFrom(flags));
  registerImmutableCommands(program, (flags) => configFrom(flags));
  registerQuotaCommands(program, (flags) => configFrom(flags));
  registerRetentionCommands(program, (flags) => configFrom(flags));
  registerTrustCommands(program, (flags) => configFrom(flags));
  registerDbCommands(program, (flags) => configFrom(flags));
  registerImageCommands(program);

  await program.parseAsync(argv);
}
