// Runs Berth's test files with node:test (through tsx): `unit` (beside the code and in-process
// HTTP tests), `e2e` (real clients against spawned servers) or `all`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function find(dir, pattern) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...find(full, pattern));
    else if (pattern.test(full)) out.push(full);
  }
  return out.sort();
}

const which = process.argv[2] ?? 'all';
const unit = [...find('src', /\.test\.ts$/), ...find('test/api', /\.test\.ts$/)];
const e2e = find('test/e2e', /\.test\.ts$/);
const files = which === 'unit' ? unit : which === 'e2e' ? e2e : [...unit, ...e2e];
const concurrency = which === 'e2e' ? '1' : '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
