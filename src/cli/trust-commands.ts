/** `berth trust …`: signed-tag status and signed-tags requirements, on the data directory. */
import type { Command } from 'commander';
import type { BerthConfig } from '../config/index.js';
import { createCliLogger } from '../obs/index.js';
import {
  SIGNER_NAME,
  parseTrustScope,
  servedTags,
  type RequirementSettings,
  type TrustService,
} from '../trust/index.js';
import type { Registry } from '../registry/index.js';
import { composeBerth } from './compose.js';
import { printRows, withDataFlags, type ConfigFrom } from './directory.js';
import { readFileSync } from 'node:fs';
import os from 'node:os';

type Flags = { config?: string; data?: string; json?: boolean; signer?: string[] };

async function withTrust<T>(
  config: BerthConfig,
  work: (trust: TrustService, registry: Registry) => Promise<T>,
): Promise<T> {
  const berth = await composeBerth(config, createCliLogger());
  try {
    if (!berth.trust) throw new Error('content trust is disabled (trust.enabled: false)');
    return await work(berth.trust, berth.registry);
  } finally {
    await berth.close();
  }
}

/** Registers `berth trust status|require|unrequire|policies`. */
export function registerTrustCommands(program: Command, configFrom: ConfigFrom): void {
  const trust = program.command('trust').description('content trust: signatures and policies');
  withDataFlags(
    trust.command('status <repository>').description('per tag: signed or not, by whom and when'),
  )
    .option('--json', 'print JSON', false)
    .action(async (repository: string, f: Flags) => {
      const status = await withTrust(configFrom(f), async (t, registry) =>
        t.tags.status(repository, await servedTags(registry, repository)),
      );
      if (f.json) {
        process.stdout.write(`${JSON.stringify(status)}\n`);
        return;
      }
      const req = status.requirement;
      process.stdout.write(
        req
          ? `${repository}: signed tags required by ${req.scope}${req.signers.length ? ` (signers: ${req.signers.join(', ')})` : ''}\n`
          : `${repository}: no signing requirement\n`,
      );
      printRows(
        status.tags.map((s) => ({
          tag: s.tag,
          digest: s.digest ?? '(not in the registry)',
          signed: s.signed ? (s.mismatch ? 'other digest' : 'yes') : 'no',
          signers: s.signers.join(', ') || null,
          signedAt: s.signedAt,
          pull: s.servable ? 'allowed' : 'refused',
        })),
        ['tag', 'digest', 'signed', 'signers', 'signedAt', 'pull'],
        false,
      );
    });
  withDataFlags(
    trust
      .command('require <scope>')
      .description('serve tags of a repository (team/app) or namespace (team/) only when signed'),
  )
    .option(
      '--signer <name>',
      'a signer (docker trust signer, cosign key or Notation certificate name) who must have signed (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--kinds <list>',
      'signature kinds that count: notary,cosign,notation',
      'notary,cosign,notation',
    )
    .option('--threshold <n>', 'how many of the named signers must have signed (default: all)')
    .option(
      '--mode <mode>',
      'enforce (refuse pulls), warn (serve with a warning) or audit',
      'enforce',
    )
    .action(
      async (scope: string, f: Flags & { kinds: string; threshold?: string; mode: string }) => {
        const signers = f.signer ?? [];
        for (const s of signers)
          if (!SIGNER_NAME.test(s)) throw new Error(`invalid signer name ${s}`);
        const kinds = f.kinds.split(',').map((k) => k.trim());
        if (kinds.length === 0 || kinds.some((k) => !['notary', 'cosign', 'notation'].includes(k)))
          throw new Error(`--kinds ${f.kinds}: a list of notary, cosign and notation`);
        if (!['enforce', 'warn', 'audit'].includes(f.mode))
          throw new Error(`--mode ${f.mode}: enforce, warn or audit`);
        const threshold = f.threshold === undefined ? null : Number(f.threshold);
        if (
          threshold !== null &&
          !(Number.isInteger(threshold) && threshold >= 1 && threshold <= signers.length)
        )
          throw new Error('--threshold: a whole number from 1 to the number of --signer');
        await withTrust(configFrom(f), (t) =>
          t.tags.require(
            parseTrustScope(scope),
            {
              signers,
              kinds: kinds as RequirementSettings['kinds'],
              threshold,
              mode: f.mode as RequirementSettings['mode'],
            },
            `local:${os.userInfo().username}`,
          ),
        );
        const by = signers.length
          ? ` by ${threshold === null ? 'all' : threshold} of ${signers.join(', ')}`
          : '';
        process.stdout.write(
          `${scope}: tags need a ${kinds.join(', ')} signature${by} (${f.mode})\n`,
        );
      },
    );
  withDataFlags(
    trust.command('unrequire <scope>').description('lift a signing requirement'),
  ).action(async (scope: string, f: Flags) => {
    const removed = await withTrust(configFrom(f), (t) => t.tags.unrequire(parseTrustScope(scope)));
    if (!removed) throw new Error(`${scope} has no signing requirement`);
    process.stdout.write(`${scope}: signing requirement lifted\n`);
  });
  withDataFlags(trust.command('policies').description('list signing requirements'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const list = await withTrust(configFrom(f), (t) => t.tags.listRequirements());
      printRows(
        list.map((p) => ({
          scope: p.scope,
          signers: p.signers.join(', ') || '(any)',
          threshold: p.threshold ?? (p.signers.length ? 'all' : '-'),
          kinds: p.kinds.join(','),
          mode: p.mode,
          createdBy: p.createdBy,
          createdAt: new Date(p.createdAt).toISOString(),
        })),
        ['scope', 'signers', 'threshold', 'kinds', 'mode', 'createdBy', 'createdAt'],
        f.json ?? false,
      );
    });
  const key = trust.command('key').description('cosign keys and Notation trust-store certificates');
  withDataFlags(
    key
      .command('add <scope> <name>')
      .description('register a key that verifies signatures in a repository or namespace/'),
  )
    .option('--cosign <file>', 'a cosign public key (cosign.pub)')
    .option('--notation <file>', 'a Notation trust-store certificate (PEM)')
    .action(
      async (scope: string, name: string, f: Flags & { cosign?: string; notation?: string }) => {
        const file = f.cosign ?? f.notation;
        if (!file || (f.cosign && f.notation))
          throw new Error('give one of --cosign FILE or --notation FILE');
        const pem = readFileSync(file, 'utf8');
        const added = await withTrust(configFrom(f), (t) =>
          t.keys.add(
            parseTrustScope(scope),
            f.cosign ? 'cosign' : 'notation',
            name,
            pem,
            `local:${os.userInfo().username}`,
          ),
        );
        process.stdout.write(
          `key ${added.id}: ${added.kind} ${name} on ${scope} (${added.fingerprint})\n`,
        );
      },
    );
  withDataFlags(key.command('ls').description('the registered keys'))
    .option('--json', 'print JSON', false)
    .action(async (f: Flags) => {
      const keys = await withTrust(configFrom(f), (t) => t.keys.list());
      printRows(
        keys.map((k) => ({
          id: k.id,
          scope: k.scope,
          kind: k.kind,
          name: k.name,
          fingerprint: k.fingerprint,
        })),
        ['id', 'scope', 'kind', 'name', 'fingerprint'],
        f.json ?? false,
      );
    });
  withDataFlags(key.command('rm <id>').description('remove a key')).action(
    async (id: string, f: Flags) => {
      await withTrust(configFrom(f), (t) => t.keys.remove(Number(id)));
      process.stdout.write(`key ${id} removed\n`);
    },
  );
}
