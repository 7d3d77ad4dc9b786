/**
 * A real OpenSSH server for tests, on 127.0.0.1 and a port of its own: host key, authorized keys
 * and configuration in a fresh folder; it serves git over SSH to whoever holds an authorized key.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, removeDir, tempDir } from './server.js';
import { untilListening } from './wait.js';

/** A running sshd. */
export interface Sshd {
  port: number;
  /** Lets the holder of `publicKey` in (as the user running the tests). */
  authorize(publicKey: string): void;
  stop(): Promise<void>;
}

/** Starts sshd (it runs as root, as the tests do). */
export async function startSshd(): Promise<Sshd> {
  const dir = tempDir('sshd');
  const port = await freePort();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
  const authorized = path.join(dir, 'authorized_keys');
  writeFileSync(authorized, '', { mode: 0o600 });
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorized}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'StrictModes no',
      'UsePAM no',
    ].join('\n'),
  );
  // The privilege-separation directory sshd insists on.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await untilListening(child, port, 'sshd');
  return {
    port,
    authorize(publicKey) {
      writeFileSync(authorized, `${publicKey}\n`, { flag: 'a', mode: 0o600 });
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      removeDir(dir);
    },
  };
}
