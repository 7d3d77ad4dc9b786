/** `berth idp …`: identity providers (LDAP, Active Directory, FreeIPA) on the data directory. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { bindPasswordLabel } from '../auth/index.js';
import { SecretBox } from '../kit/index.js';
import { masterKeyOf } from './compose.js';
import {
  printRows,
  readStdinSecret,
  say,
  withDataFlags,
  withDirectory,
  type ConfigFrom,
} from './directory.js';

type Flags = { config?: string; data?: string; json?: boolean } & Record<string, unknown>;

/** A provider's settings from a YAML or JSON file (`-`: standard input is not read here). */
function providerFile(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${file}: a provider is a mapping of settings`);
  return parsed as Record<string, unknown>;
}

/** Adds `berth idp list|add|edit|rm|test|link|sync|seal-password` to `program`. */
export function registerIdentityCommands(program: Command, configFrom: ConfigFrom): void {
  const idp = program.command('idp').description('identity providers (LDAP, Active Directory)');
  withDataFlags(idp.command('list').description('the providers, in login order'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const listed = await withDirectory(configFrom(f), (auth, actor) => auth.identity.list(actor));
      if (f.json) {
        process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
        return;
      }
      const rows = listed.providers.map((p) => ({
        name: p.name,
        kind: p.kind,
        source: p.source,
        urls: p.urls.join(',') || '-',
        userBase: p.userBase ?? '-',
        groups: p.groups ?? '-',
        mappings: String(p.mappings.length),
      }));
      printRows(rows, ['name', 'kind', 'source', 'urls', 'userBase', 'groups', 'mappings'], false);
      for (const u of listed.unusable) say(`unusable: ${u.name}: ${u.problem}`);
    });
  withDataFlags(
    idp
      .command('add <file>')
      .description('save a provider from a YAML/JSON file (its bind password sealed)'),
  )
    .option('--bind-password-stdin', 'read the bind password from standard input', false)
    .action(async (file: string, f: Flags) => {
      const input = providerFile(file);
      if (f.bindPasswordStdin) input.bindPassword = await readStdinSecret();
      const saved = await withDirectory(configFrom(f), (auth, actor) =>
        auth.identity.save(actor, input),
      );
      say(`saved identity provider ${saved?.name ?? String(input.name)}`);
    });
  withDataFlags(
    idp
      .command('edit <name> <file>')
      .description('replace a saved provider from a file (no bindPassword: the old one is kept)'),
  )
    .option('--bind-password-stdin', 'read a new bind password from standard input', false)
    .action(async (name: string, file: string, f: Flags) => {
      const input = providerFile(file);
      if (f.bindPasswordStdin) input.bindPassword = await readStdinSecret();
      await withDirectory(configFrom(f), (auth, actor) => auth.identity.save(actor, input, name));
      say(`saved identity provider ${name}`);
    });
  withDataFlags(idp.command('rm <name>').description('remove a saved provider')).action(
    async (name: string, f: Flags) => {
      await withDirectory(configFrom(f), (auth, actor) => auth.identity.remove(actor, name));
      say(`removed identity provider ${name}`);
    },
  );
  withDataFlags(idp.command('test <name>').description('test a provider (with --user: a dry run)'))
    .option('--user <login>', 'show the DN, groups and teams this user would get')
    .action(async (name: string, f: Flags) => {
      const result = await withDirectory(configFrom(f), (auth, actor) =>
        auth.identity.test(actor, name, f.user as string | undefined),
      );
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
  withDataFlags(idp.command('link <user>').description('move a user to a directory, or back'))
    .option('--provider <name>', 'the directory (found there by the same login)')
    .option('--local', 'make the account local again (then set a password)', false)
    .action(async (user: string, f: Flags) => {
      if (Boolean(f.provider) === Boolean(f.local))
        throw new Error('give --provider NAME or --local');
      const provider = f.local ? null : String(f.provider);
      const moved = await withDirectory(configFrom(f), (auth, actor) =>
        auth.identity.relink(actor, user, provider),
      );
      say(`${moved.name} is now ${moved.provider ? `a ${moved.provider} account` : 'local'}`);
    });
  withDataFlags(
    idp
      .command('seal-password <provider>')
      .description("seal a provider's bind password (stdin) for the configuration file"),
  ).action(async (provider: string, f: Flags) => {
    const box = new SecretBox(masterKeyOf(configFrom(f)));
    const sealed = box.seal(Buffer.from(await readStdinSecret()), bindPasswordLabel(provider));
    say(`sealed:${sealed}`);
  });
  withDataFlags(idp.command('sync').description('bring directory accounts in step now')).action(
    async (f: Flags) => {
      const result = await withDirectory(configFrom(f), (auth, actor) => auth.identity.sync(actor));
      say(`checked ${result.checked}; disabled ${result.disabled.join(', ') || 'none'}`);
      if (result.unreachable.length > 0) {
        say(`unreachable: ${result.unreachable.join(', ')}`);
        process.exitCode = 1;
      }
    },
  );
}
