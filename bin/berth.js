#!/usr/bin/env node
// Berth's executable: runs the command line from its single-file build (scripts/bundle.mjs),
// loaded with V8's code cache (bin/load-bundle.js). `--version` alone is answered from
// package.json, without loading the command line.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { readFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const file = fileURLToPath(import.meta.resolve('../package.json'));
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  const { runBundle } = await import('./load-bundle.js');
  runBundle(process.argv).catch((err) => {
    process.stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
