/** Where Berth's package lives on disk, wherever the running code was loaded from. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The folder of Berth's package.json: found by walking up from this module (it sits in src/kit,
 * dist/kit, or in the single-file bundle in dist/).
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'berth') return (root = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("Berth's package.json was not found");
    dir = parent;
  }
}
