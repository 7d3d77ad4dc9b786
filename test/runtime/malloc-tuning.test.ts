import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childJson, launcherModule, skippedWithoutAddon } from '../helpers/child-node.js';

// A child Node that frees COUNT buffers of BUFFER_KIB allocated between 4 KiB ones it keeps (as
// request buffers sit between a server's long-lived allocations), trims glibc's heaps if MODE is
// `trim`, and reports how much went back to the system; tuned as berth serve is unless MODE is
// `default`. Before it, one 1 MiB buffer is freed: glibc then raises its mmap threshold past
// 256 KiB (as it does in any Node process that has freed a large buffer), so untuned 256 KiB
// buffers come from the heap and their freed holes stay resident.
const CHILD = `
import { readFileSync } from 'node:fs';
const [mode, tuning, bufferKiB, count] = process.argv.slice(1);
const { tuneMalloc, trimMalloc } = await import(tuning);
if (mode !== 'default' && !tuneMalloc()) {
  process.stdout.write(JSON.stringify({ untuned: true }));
  process.exit(0);
}
const anon = () => Number(/RssAnon:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const released = async (most) => {
  globalThis.gc();
  // Backing stores are freed by V8 after the collection, maybe on another thread: wait until it
  // says so, not for a fixed time.
  while (process.memoryUsage().arrayBuffers > most) await new Promise((r) => setImmediate(r));
};
let warmUp = Buffer.allocUnsafeSlow(1 << 20).fill(1);
warmUp = undefined;
await released(1 << 20);
let big = [];
const small = [];
for (let i = 0; i < Number(count); i += 1) {
  big.push(Buffer.allocUnsafeSlow(Number(bufferKiB) << 10).fill(1));
  small.push(Buffer.allocUnsafeSlow(4 << 10).fill(1));
}
const full = anon();
big = undefined;
await released((4 << 20) + small.length * 4096);
if (mode === 'trim') trimMalloc();
// \`kept\` reads \`small\`, so the small buffers live until RSS is read.
process.stdout.write(JSON.stringify({ returned: full - anon(), kept: small.length }));
`;

function freedBytes(mode: 'tuned' | 'default'): { returned?: number; untuned?: boolean } {
  return childJson(CHILD, [mode, launcherModule('malloc-tuning'), '256', '256']);
}

describe("glibc's allocator, tuned for berth serve", () => {
  it('returns the large buffers a burst freed, which the default settings keep', (t) => {
    if (process.platform !== 'linux') return t.skip('glibc tuning is for Linux');
    const tuned = freedBytes('tuned');
    if (skippedWithoutAddon(t, tuned)) return;
    const untuned = freedBytes('default');
    assert.ok(
      (untuned.returned ?? 0) < 24 << 20,
      `the default settings returned ${untuned.returned} bytes: the test no longer shows the difference`,
    );
    assert.ok(
      (tuned.returned ?? 0) >= 48 << 20,
      `tuned, only ${tuned.returned} of 64 MiB freed went back to the system`,
    );
  });

  it('trims the holes small freed buffers leave inside the heap, which the thresholds keep', (t) => {
    if (process.platform !== 'linux') return t.skip('glibc tuning is for Linux');
    const trim = holesReturned('trim');
    if (skippedWithoutAddon(t, trim)) return;
    const kept = holesReturned('keep');
    assert.ok(
      (kept.returned ?? 0) < 16 << 20,
      `without a trim ${kept.returned} bytes went back: the test no longer shows the difference`,
    );
    assert.ok(
      (trim.returned ?? 0) >= 40 << 20,
      `trimmed, only ${trim.returned} of 64 MiB freed went back to the system`,
    );
  });
});

function holesReturned(mode: 'trim' | 'keep'): { returned?: number; untuned?: boolean } {
  // 64 MiB of 64 KiB buffers: below the mmap threshold, so from glibc's heap, as a socket's
  // received chunks are.
  return childJson(CHILD, [mode, launcherModule('malloc-tuning'), '64', '1024']);
}
