import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childJson, launcherModule, skippedWithoutAddon } from '../helpers/child-node.js';

// A child Node that sums the resident pages of its own executable's mappings, releases them with
// bin/executable-pages.js, sums them again, and then runs what reads the executable's code and
// data once more (compression, hashing, a full collection, ICU's locale data, a timer), reporting
// each result. Had a mapping with private pages been released (the dynamic linker's relocated
// read-only data), the process would read the unrelocated file there and crash.
const CHILD = `
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
const { releaseExecutablePages } = await import(process.argv[1]);
const executable = realpathSync(process.execPath);
const resident = () => {
  let kib = 0;
  let ours = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \\S+ \\S+ \\S+ \\S+\\s*(.*)$/.exec(line);
    if (header) ours = header[1] === executable;
    else if (ours && line.startsWith('Rss:')) kib += Number(line.split(/\\s+/)[1]);
  }
  return kib * 1024;
};
const before = resident();
const released = releaseExecutablePages();
const after = resident();
if (released === 0 && !existsSync(new URL('../build/Release/file_pages.node', process.argv[1]))) {
  process.stdout.write(JSON.stringify({ untuned: true }));
  process.exit(0);
}
const text = 'berth '.repeat(10000);
globalThis.gc();
await new Promise((resolve) => setTimeout(resolve, 1));
process.stdout.write(JSON.stringify({
  before,
  released,
  after,
  roundTrip: gunzipSync(gzipSync(text)).toString() === text,
  sha256: createHash('sha256').update('berth').digest('hex'),
  date: new Intl.DateTimeFormat('de-DE', { timeZone: 'UTC' }).format(Date.UTC(2026, 11, 4)),
  sorted: ['ö', 'z', 'a'].sort(new Intl.Collator('sv').compare).join(''),
}));
`;

describe("Node's executable's pages, released once berth serve answers", () => {
  it('leave the resident set and are read again unchanged', (t) => {
    if (process.platform !== 'linux') return t.skip('the release reads /proc/self/smaps');
    const result = childJson<{
      untuned?: boolean;
      before: number;
      released: number;
      after: number;
      roundTrip: boolean;
      sha256: string;
      date: string;
      sorted: string;
    }>(CHILD, [launcherModule('executable-pages')]);
    if (skippedWithoutAddon(t, result, 'file_pages')) return;
    assert.ok(
      result.released >= 8 << 20 && result.after <= result.before - (8 << 20),
      `released ${result.released} bytes: resident ${result.before} before, ${result.after} after`,
    );
    assert.equal(result.roundTrip, true);
    assert.equal(result.sha256, '5c2f64c7f21efd5fb5e3d6a499abe5eacb248ae6f6f0085387c9a056d10ef5fd');
    assert.equal(result.date, '4.12.2026');
    assert.equal(result.sorted, 'azö');
  });
});
