/** Running a script in a child Node, for the tests of the process's runtime settings. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { skippedWithoutAddons } from './addons.js';

/** The file URL of one of Berth's launcher modules (`bin/NAME.js`), for a child to import. */
export function launcherModule(name: string): string {
  return new URL(`../../bin/${name}.js`, import.meta.url).href;
}

/**
 * Runs `script` (an ES module, with `gc` exposed, and Node's or V8's `flags`) in a child Node with
 * `args`, asserts it exited cleanly, and returns the JSON it wrote to stdout.
 */
export function childJson<T>(script: string, args: string[], flags: string[] = []): T {
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', ...flags, '--input-type=module', '-e', script, ...args],
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
  return skippedWithoutAddons(t, { [addon]: !result.untuned });
}
