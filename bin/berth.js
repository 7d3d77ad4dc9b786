#!/usr/bin/env node
// Berth's executable: runs the compiled command-line entry point.
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
