/** Real tools the end-to-end tests need: under CI a missing tool fails the test, elsewhere it skips loudly. */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/** True when `tool` is on the PATH. */
export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Checks that every tool is present. Under CI a missing tool throws (the test fails); elsewhere the
 * test is skipped with a message saying which tool is missing. Returns false when skipped.
 */
export function needTools(t: TestContext, ...tools: string[]): boolean {
  const missing = tools.filter((tool) => !hasTool(tool));
  if (missing.length === 0) return true;
  const why = `needs ${missing.join(', ')} (install: apt-get install -y docker.io skopeo podman umoci busybox-static notary openssl curl chromium postgresql nginx-light)`;
  if (process.env.CI) throw new Error(`CI is set and this test ${why}`);
  process.stderr.write(`SKIP ${t.name}: ${why}\n`);
  t.skip(why);
  return false;
}

/** Runs a command, throwing with its output when it fails; returns stdout. */
export function run(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): string {
  const result = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: options.env ?? process.env,
    cwd: options.cwd,
    input: options.input,
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Runs a command that may fail; returns its exit status and stdout + stderr. */
export function attempt(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): { status: number; output: string } {
  const result = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: options.env ?? process.env,
    input: options.input,
    maxBuffer: 64 << 20,
  });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

/**
 * The `skip` option for a suite of real-client tests: outside CI a missing tool skips the suite
 * with the reason; under CI it never skips, so `needTools` fails the tests instead.
 */
export function skipUnlessTools(tools: string[]): string | false {
  if (process.env.CI || tools.every(hasTool)) return false;
  return `needs ${tools.filter((t) => !hasTool(t)).join(', ')}`;
}
