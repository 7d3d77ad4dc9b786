/** Running a script in a child Node, for the tests of the process's runtime settings. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/** The file URL of one of Berth's launcher modules (`bin/NAME.js`), for a child to import. */
export function launcherModule(name: string): string {
  return new URL(`../../bin/${name}.js`, import.meta.url).href;
}

/**
 * Runs `script` (an ES module, with `gc` exposed) in a child Node with `args`, asserts it exited
 * cleanly, and returns the JSON it wrote to stdout.
 */
export function childJson<T>(script: string, args: string[]): T {
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', script, ...args],
    { encoding: 'utf8' },
  );
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as T;
}

/**
 * When a child reported `untuned` (the native addon `addon` is missing): fails under CI, where
 * `npm ci` must have built it, and skips with the reason elsewhere. Returns whether it skipped.
 */
export function skippedWithoutAddon(
  t: TestContext,
  result: { untuned?: boolean },
  addon = 'malloc_tuning',
): boolean {
  if (!result.untuned) return false;
  // `npm ci` builds the addons (binding.gyp); only a machine without a compiler lacks them.
  assert.ok(!process.env.CI, `the ${addon} addon is not built (npm ci runs node-gyp)`);
  t.skip(`the ${addon} addon (build/Release/${addon}.node) is not built`);
  return true;
}
