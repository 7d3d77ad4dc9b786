/** Waiting for a condition instead of a fixed time. */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/** Polls `check` until it holds; throws naming `what` after `ms`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until `child` (a server named `name`) accepts connections on 127.0.0.1:`port`; fails with
 * its standard error if it exits first.
 */
export async function untilListening(
  child: ChildProcess,
  port: number,
  name: string,
  ms = 30_000,
): Promise<void> {
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  await waitUntil(
    () =>
      new Promise<boolean>((resolve, reject) => {
        if (child.exitCode !== null) return reject(new Error(`${name} exited: ${log}`));
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    `${name} to listen`,
    ms,
  );
}
