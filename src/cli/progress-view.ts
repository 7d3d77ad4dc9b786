/** Showing the image tools' progress: bars on a terminal, JSON lines for scripts, or nothing. */
import cliProgress from 'cli-progress';
import { NO_PROGRESS, type Progress } from '../client/index.js';
import { formatBytes } from '../kit/index.js';

/** Bars per item on standard error: bytes, rate and time left. */
function terminalProgress(): Progress & { stop(): void } {
  const multi = new cliProgress.MultiBar(
    {
      format: '{label} [{bar}] {percentage}% {moved}/{size} {rate}/s ETA {eta_formatted} {how}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; began: number; moved: number }>();
  const payload = (moved: number, total: number, began: number, how = '') => ({
    moved: formatBytes(moved),
    size: formatBytes(total),
    rate: formatBytes(moved / Math.max(0.001, (Date.now() - began) / 1000)),
    how,
  });
  return {
    start(id, label, total) {
      const began = Date.now();
      const bar = multi.create(Math.max(total, 1), 0, { label, ...payload(0, total, began) });
      bars.set(id, { bar, began, moved: 0 });
    },
    advance(id, bytes) {
      const entry = bars.get(id);
      if (!entry) return;
      entry.moved += bytes;
      entry.bar.update(entry.moved, payload(entry.moved, entry.bar.getTotal(), entry.began));
    },
    finish(id, how) {
      const entry = bars.get(id);
      if (!entry) return;
      const total = entry.bar.getTotal();
      entry.bar.update(
        total,
        payload(how === 'copied' ? total : entry.moved, total, entry.began, how),
      );
    },
    stop: () => multi.stop(),
  };
}

/** One JSON object per event on standard output (progress at most four times a second per item). */
function jsonProgress(): Progress & { stop(): void } {
  const last = new Map<string, number>();
  const moved = new Map<string, number>();
  const out = (event: Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify(event)}\n`);
  return {
    start(id, label, total) {
      moved.set(id, 0);
      out({ event: 'start', id, label, total });
    },
    advance(id, bytes) {
      const n = (moved.get(id) ?? 0) + bytes;
      moved.set(id, n);
      if (Date.now() - (last.get(id) ?? 0) < 250) return;
      last.set(id, Date.now());
      out({ event: 'progress', id, bytes: n });
    },
    finish(id, how) {
      out({ event: 'finish', id, how, bytes: moved.get(id) ?? 0 });
    },
    stop: () => undefined,
  };
}

/** The progress display for this process: JSON when asked, bars on a terminal, else silence. */
export function progressFor(json: boolean): Progress & { stop(): void } {
  if (json) return jsonProgress();
  if (process.stderr.isTTY) return terminalProgress();
  return { ...NO_PROGRESS, stop: () => undefined };
}
