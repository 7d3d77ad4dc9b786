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
// The registry API suites (the OCI conformance checks) run a second time with auth on, every
// request carrying a bearer token fetched from /token the way clients do.
const conformance = ['blobs', 'manifests', 'operations', 'gc'].map((n) => `test/api/${n}.test.ts`);
const unit = [
  ...find('src', /\.test\.ts$/),
  ...find('test/storage', /\.test\.ts$/),
  ...find('test/api', /\.test\.ts$/),
];
const e2e = find('test/e2e', /\.test\.ts$/);
const files = which === 'unit' ? unit : which === 'e2e' ? e2e : [...unit, ...e2e];
const concurrency = which === 'e2e' ? '1' : '2';
function runFiles(list, env = {}) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...list],
    { stdio: 'inherit', env: { ...process.env, ...env } },
  );
  return result.status ?? 1;
}

let status = runFiles(files);
if (status === 0 && which !== 'e2e') {
  process.stdout.write('\n# the registry API suites again, with token authentication on\n');
  status = runFiles(conformance, { BERTH_TEST_AUTH: 'bearer' });
}
// Every in-process API suite once more with the metadata in PostgreSQL (BERTH_TEST_PG: a server
// scripts/test.sh starts). Under CI a missing server is a failure, elsewhere a printed skip.
const apiSuites = find('test/api', /\.test\.ts$/);
if (status === 0 && which !== 'e2e') {
  if (process.env.BERTH_TEST_PG) {
    process.stdout.write('\n# the API suites again, on PostgreSQL\n');
    status = runFiles(apiSuites, { BERTH_TEST_DB: 'postgres' });
  } else if (process.env.CI) {
    process.stderr.write('CI is set and BERTH_TEST_PG is not: the PostgreSQL suites cannot run\n');
    status = 1;
  } else {
    process.stderr.write(
      'SKIP the PostgreSQL suites: BERTH_TEST_PG is not set (scripts/test.sh sets it)\n',
    );
  }
}
// The registry API suites that speak only HTTP (no peeking at files) once more with the blobs in
// an S3 bucket on the real Ceph RADOS Gateway scripts/test.sh starts (BERTH_TEST_S3).
if (status === 0 && which !== 'e2e') {
  const overHttp = ['blobs', 'manifests'].map((n) => `test/api/${n}.test.ts`);
  if (process.env.BERTH_TEST_S3) {
    process.stdout.write('\n# the blob and manifest suites again, with S3 storage (Ceph)\n');
    status = runFiles(overHttp, { BERTH_TEST_STORAGE: 's3' });
  } else if (process.env.CI) {
    process.stderr.write('CI is set and BERTH_TEST_S3 is not: the S3 suites cannot run\n');
    status = 1;
  } else {
    process.stderr.write(
      'SKIP the S3 suites: BERTH_TEST_S3 is not set (scripts/test.sh sets it)\n',
    );
  }
}
process.exit(status);
