#!/usr/bin/env node
// Berth's executable: runs the command line from its single-file build (scripts/bundle.mjs).
import { main } from '../dist/berth.mjs';

main(process.argv).catch((err) => {
  process.stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
