/**
 * A real Active Directory domain controller for tests: Samba 4 (Debian `samba`) provisioned by the
 * test in a private directory, serving only LDAP on 127.0.0.1 — LDAPS on 636 with a certificate
 * the test makes (its CA handed to Berth), plain LDAP on 389 for StartTLS. Active Directory's
 * ports are fixed, so one runs at a time; it needs root (as a domain controller does).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { makeSelfSignedCertificate } from '../../src/cli/index.js';
import { removeDir, tempDir } from './server.js';
import { untilListening, waitUntil } from './wait.js';

/** The test domain. */
export const AD_REALM = 'BERTH.TEST';
export const AD_BASE = 'DC=berth,DC=test';
export const AD_USERS = `CN=Users,${AD_BASE}`;
/** The domain administrator (bound by its userPrincipalName, as AD allows). */
export const AD_ADMIN = 'Administrator@berth.test';
export const AD_ADMIN_PASSWORD = 'Adm1n-Passw0rd!berth';

/** A running domain controller. */
export interface SambaAd {
  ldapsUrl: string;
  ldapUrl: string;
  /** The CA certificate (PEM) of the LDAPS certificate. */
  ca: string;
  /** Runs `samba-tool ARGS` against the domain's database. */
  tool(...args: string[]): string;
  stop(): Promise<void>;
}

/** Whether nothing listens on 127.0.0.1:`port`. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Why a domain controller cannot run here, or undefined when it can. */
export async function sambaAdUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'a Samba domain controller runs as root';
  for (const port of [389, 636])
    if (!(await portIsFree(port))) return `port ${port} (fixed for Active Directory) is taken`;
  return undefined;
}

/** Provisions a new domain in a temporary directory and starts its LDAP service. */
export async function startSambaAd(): Promise<SambaAd> {
  const dir = tempDir('samba-ad');
  const conf = path.join(dir, 'etc', 'smb.conf');
  execFileSync(
    'samba-tool',
    [
      'domain',
      'provision',
      `--targetdir=${dir}`,
      `--realm=${AD_REALM}`,
      '--domain=BERTH',
      '--server-role=dc',
      '--dns-backend=NONE',
      '--host-name=dc1',
      `--adminpass=${AD_ADMIN_PASSWORD}`,
    ],
    { stdio: 'pipe' },
  );
  const pem = await makeSelfSignedCertificate(['127.0.0.1', 'localhost'], 1);
  writeFileSync(path.join(dir, 'tls-cert.pem'), pem.cert);
  writeFileSync(path.join(dir, 'tls-key.pem'), pem.key, { mode: 0o600 });
  // Only the LDAP service, only on loopback, every file of its own under `dir`.
  const extra = [
    'server services = ldap',
    'interfaces = lo',
    'bind interfaces only = yes',
    `pid directory = ${dir}`,
    `log file = ${path.join(dir, 'samba.log')}`,
    'tls enabled = yes',
    `tls certfile = ${path.join(dir, 'tls-cert.pem')}`,
    `tls keyfile = ${path.join(dir, 'tls-key.pem')}`,
    `tls cafile = ${path.join(dir, 'tls-cert.pem')}`,
  ];
  const original = readFileSync(conf, 'utf8')
    .split('\n')
    .filter(
      (line) => !/^\s*(server services|interfaces|bind interfaces only|log file)\s*=/.test(line),
    )
    .join('\n');
  writeFileSync(conf, original.replace('[global]', `[global]\n\t${extra.join('\n\t')}`));
  const child: ChildProcess = spawn(
    'samba',
    ['--foreground', '--no-process-group', '-s', conf, '--debug-stdout'],
    // Its own process group: the master and its prefork workers stop together.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  await untilListening(child, 636, 'samba', 60_000);
  await untilListening(child, 389, 'samba', 60_000);
  const tool = (...args: string[]) =>
    execFileSync('samba-tool', [...args, '-s', conf], { encoding: 'utf8', stdio: 'pipe' });
  return {
    ldapsUrl: 'ldaps://127.0.0.1:636',
    ldapUrl: 'ldap://127.0.0.1:389',
    ca: pem.cert,
    tool,
    async stop() {
      const group = -child.pid!;
      const alive = () => {
        try {
          process.kill(group, 0);
          return true;
        } catch {
          return false;
        }
      };
      if (alive()) process.kill(group, 'SIGTERM');
      await waitUntil(() => !alive(), 'the domain controller to stop', 30_000).catch(() => {
        if (alive()) process.kill(group, 'SIGKILL');
      });
      await waitUntil(() => !alive(), 'the domain controller to be killed', 10_000);
      removeDir(dir);
    },
  };
}
