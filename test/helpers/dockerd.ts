/** A private Docker engine for one test file: its own data root, socket and no host networking. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { removeDir, tempDir } from './server.js';
import { attempt } from './tools.js';

/** A running dockerd and the environment that points the docker CLI at it. */
export interface PrivateDockerd {
  env: NodeJS.ProcessEnv;
  dir: string;
  /** Runs the docker CLI against this daemon; throws with output on failure. */
  docker(args: string[], options?: { input?: string }): string;
  /** Runs the docker CLI and returns its status and output, failing or not. */
  attempt(args: string[], options?: { input?: string }): { status: number; output: string };
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts dockerd (vfs storage, no iptables, no bridge) and waits until it answers. */
export async function startDockerd(extraArgs: string[] = []): Promise<PrivateDockerd> {
  const dir = tempDir('dockerd');
  const socket = path.join(dir, 'docker.sock');
  const child: ChildProcess = spawn(
    'dockerd',
    [
      '--storage-driver=vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--data-root=${dir}/root`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/pid`,
      '-H',
      `unix://${socket}`,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const env = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: path.join(dir, 'cli'),
    DOCKER_BUILDKIT: '0',
  };
  const docker = (args: string[], options: { input?: string } = {}): string => {
    const r = spawnSync('docker', args, {
      env,
      encoding: 'utf8',
      input: options.input,
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0)
      throw new Error(`docker ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout + r.stderr;
  };
  for (let i = 0; ; i += 1) {
    if (spawnSync('docker', ['info'], { env, stdio: 'ignore' }).status === 0) break;
    if (child.exitCode !== null || i > 120)
      throw new Error(`dockerd did not start (exit ${child.exitCode})`);
    await sleep(500);
  }
  return {
    env,
    dir,
    docker,
    attempt: (args, options = {}) => attempt('docker', args, { env, input: options.input }),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      spawnSync('umount', ['-R', `${dir}/exec`], { stdio: 'ignore' });
      removeDir(dir);
    },
  };
}

/** Writes a build context for a busybox base image (Debian's static busybox, no Docker Hub). */
export function busyboxContext(extraDockerfileLines: string[] = []): string {
  const ctx = tempDir('ctx');
  mkdirSync(path.join(ctx, 'bin'));
  copyFileSync('/bin/busybox', path.join(ctx, 'bin', 'busybox'));
  const lines = [
    'FROM scratch',
    'COPY bin/busybox /bin/busybox',
    'RUN ["/bin/busybox","--install","-s","/bin"]',
    ...extraDockerfileLines,
  ];
  writeFileSync(path.join(ctx, 'Dockerfile'), `${lines.join('\n')}\n`);
  return ctx;
}

/** Writes a build context for an image `FROM base` with `lines` after it. */
export function derivedContext(base: string, lines: string[]): string {
  const ctx = tempDir('ctx');
  writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${base}\n${lines.join('\n')}\n`);
  return ctx;
}
