// Loads one of Berth's small native addons for the launcher's modules (they run before the
// bundle, so they cannot use src/kit/native-addon.ts). Built by `npm ci` with node-gyp into
// build/Release; each is optional: without a C compiler at install, callers do without.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A loader for the addon `name` (`build/Release/<name>.node`): looked up on the first call, then
 * remembered; undefined when it was not built or does not load.
 */
export function nativeAddon(name) {
  let addon;
  return () => {
    if (addon === undefined) {
      try {
        addon = require(`../build/Release/${name}.node`);
      } catch {
        addon = null;
      }
    }
    return addon ?? undefined;
  };
}
