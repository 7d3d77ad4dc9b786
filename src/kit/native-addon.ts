/**
 * Berth's small native addons (`native/*.c`, built by `npm ci` with node-gyp into
 * `build/Release`). Each is optional: without a C compiler at install, callers fall back to
 * what Node itself offers.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from './package-root.js';

/**
 * A loader for the addon `name` (`build/Release/<name>.node`): looked up on the first call, then
 * remembered; undefined when it was not built or does not load.
 */
export function nativeAddon<T>(name: string): () => T | undefined {
  let addon: T | null | undefined;
  return () => {
    if (addon === undefined) {
      try {
        const require = createRequire(path.join(packageRoot(), 'package.json'));
        addon = require(path.join(packageRoot(), 'build', 'Release', `${name}.node`)) as T;
      } catch {
        addon = null;
      }
    }
    return addon ?? undefined;
  };
}
