/** Tests that need Berth's native addons (built by `npm ci` through node-gyp). */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

/**
 * When an addon `t` needs is not built (`built` maps each addon's name to whether it is): fails
 * under CI, where `npm ci` must have built it, and skips with the reason elsewhere. Returns
 * whether it skipped.
 */
export function skippedWithoutAddons(t: TestContext, built: Record<string, boolean>): boolean {
  const missing = Object.keys(built).filter((name) => !built[name]);
  if (missing.length === 0) return false;
  const names = missing.join(' and ');
  // Only a machine without a compiler lacks them.
  assert.ok(!process.env.CI, `the ${names} addon is not built (npm ci runs node-gyp)`);
  t.skip(`the ${names} addon (build/Release/${missing.join('.node, ')}.node) is not built`);
  return true;
}
