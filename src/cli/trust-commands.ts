/** `berth trust …`: signed-tag status and signed-tags requirements, on the data directory. */
import type { Command } from 'commander';
import type { BerthConfig } from '../config/index.js';
import { createLogger } from '../obs/index.js';
import { SIGNER_NAME, parseTrustScope, servedTags, type TrustService } from '../trust/index.js';
import type { Registry } from '../registry/index.js';
import { composeBerth } from './compose.js';
import { printRows, withDataFlags, type ConfigFrom } from './directory.js';
import os from 'node:os';

type Flags = { config?: string; data?: string; json?: boolean; signer?: string[] };

async function withTrust<T>(
  config: BerthConfig,
  work: (trust: TrustService, registry: Registry) => Promise<T>,
): Promise<T> {
  const berth = await composeBerth(config, createLogger('warn'));
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
      'a signer (docker trust signer name) who must have signed (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action(async (scope: string, f: Flags) => {
      const signers = f.signer ?? [];
      for (const s of signers)
        if (!SIGNER_NAME.test(s)) throw new Error(`invalid signer name ${s}`);
      await withTrust(configFrom(f), (t) =>
        t.tags.require(parseTrustScope(scope), signers, `local:${os.userInfo().username}`),
      );
      process.stdout.write(
        `${scope}: tags are served only when signed${signers.length ? ` by ${signers.join(', ')}` : ''}\n`,
      );
    });
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
          createdBy: p.createdBy,
          createdAt: new Date(p.createdAt).toISOString(),
        })),
        ['scope', 'signers', 'createdBy', 'createdAt'],
        f.json ?? false,
      );
    });
}
