// Runs Berth's test files with node:test (through tsx): `unit` (beside the code and in-process
// HTTP tests), `e2e` (real clients against spawned servers) or `all`. Every pass runs even when
// an earlier one failed, and the run ends with one line: `N passed, N failed[, N skipped]`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Everything the tests write to a temporary folder goes under one folder of this run, removed at
// the end whatever happened (build contexts, data directories, client configurations, …).
const runTmp = mkdtempSync(path.join(os.tmpdir(), 'berth-test-run-'));
const cleanUp = () => {
  try {
    rmSync(runTmp, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    process.stderr.write(`could not remove ${runTmp}: ${err.message}\n`);
  }
};
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    cleanUp();
    process.exit(1);
  });

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
  ...find('test/runtime', /\.test\.ts$/),
  ...find('test/api', /\.test\.ts$/),
];
const e2e = find('test/e2e', /\.test\.ts$/);
const totals = { passed: 0, failed: 0, skipped: 0 };
const failedPasses = [];

/** Runs `list` as one node:test invocation, echoing its output and adding its counts. */
function runPass(name, list, env = {}, concurrency = '2') {
  process.stdout.write(`\n# ${name}\n`);
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...list],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: runTmp, ...env } },
    );
    const counts = { pass: 0, fail: 0, skipped: 0 };
    let pending = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const m = /^# (pass|fail|skipped) (\d+)$/.exec(line);
        if (m) counts[m[1]] = Number(m[2]);
      }
    });
    child.on('close', (code) => {
      totals.passed += counts.pass;
      totals.skipped += counts.skipped;
      // A runner that died without reporting failures still failed.
      const failed = code !== 0 && counts.fail === 0 ? 1 : counts.fail;
      totals.failed += failed;
      if (failed > 0) failedPasses.push(name);
      resolve();
    });
  });
}

/** Under CI a missing service is a failure; elsewhere a printed skip. */
function missing(what, variable) {
  if (process.env.CI) {
    process.stderr.write(`CI is set and ${variable} is not: ${what} cannot run\n`);
    totals.failed += 1;
    failedPasses.push(what);
  } else {
    process.stderr.write(`SKIP ${what}: ${variable} is not set (scripts/test.sh sets it)\n`);
  }
}

if (which !== 'e2e') await runPass('unit and in-process API tests', unit);
if (which !== 'unit')
  await runPass('end-to-end tests with real clients', e2e, {}, which === 'e2e' ? '1' : '2');
if (which !== 'e2e') {
  await runPass('the registry API suites again, with token authentication on', conformance, {
    BERTH_TEST_AUTH: 'bearer',
  });
  // Every in-process API suite once more with the metadata in PostgreSQL (BERTH_TEST_PG: a server
  // scripts/test.sh starts).
  const apiSuites = find('test/api', /\.test\.ts$/);
  if (process.env.BERTH_TEST_PG)
    await runPass('the API suites again, on PostgreSQL', apiSuites, { BERTH_TEST_DB: 'postgres' });
  else missing('the PostgreSQL suites', 'BERTH_TEST_PG');
  // The registry API suites that speak only HTTP once more with the blobs in an S3 bucket on the
  // real Ceph RADOS Gateway scripts/test.sh starts (BERTH_TEST_S3).
  const overHttp = ['blobs', 'manifests'].map((n) => `test/api/${n}.test.ts`);
  if (process.env.BERTH_TEST_S3)
    await runPass('the blob and manifest suites again, with S3 storage (Ceph)', overHttp, {
      BERTH_TEST_STORAGE: 's3',
    });
  else missing('the S3 suites', 'BERTH_TEST_S3');
}
// Checks scripts/test.sh ran before the tests (build, type check, lint) count as one each.
for (const check of (process.env.BERTH_CHECKS_FAILED ?? '').split(',').filter(Boolean)) {
  totals.failed += 1;
  failedPasses.push(check);
}
if (failedPasses.length > 0) process.stdout.write(`\n# failed: ${failedPasses.join('; ')}\n`);
process.stdout.write(
  `\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}\n`,
);
cleanUp();
process.exit(totals.failed > 0 ? 1 : 0);
