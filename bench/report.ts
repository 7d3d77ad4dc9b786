/** Targets, the people's table and the machines' JSON line. */
import os from 'node:os';
import type { Figures } from './workloads.js';

/** How a figure is judged. */
interface Target {
  /** true when a higher value is better */
  higher: boolean;
  /** the wanted ratio Berth/reference (for higher) or reference/Berth (for lower), or an absolute bound */
  ratio?: number;
  max?: number;
  text: string;
}

const TARGETS: Record<string, Target> = {
  // Uploads and downloads are judged against the machine's limits (`judgeLimits`).
  'upload monolithic MiB/s': { higher: true, text: '' },
  'upload chunked MiB/s': { higher: true, text: '' },
  // A process's first 256 MiB uploads, shown apart from the medians above.
  'first upload monolithic MiB/s': { higher: true, text: '' },
  'first upload chunked MiB/s': { higher: true, text: '' },
  'download 1 stream MiB/s': { higher: true, text: '' },
  'download 8 streams MiB/s': { higher: true, text: '' },
  'download 1 stream server CPU ms/MiB': { higher: false, text: '' },
  'download 8 streams server CPU ms/MiB': { higher: false, text: '' },
  'manifest GET req/s': { higher: true, ratio: 10, text: '>= 10x' },
  'manifest GET p50 ms': { higher: false, text: '' },
  'manifest GET p99 ms': { higher: false, text: '' },
  'manifest GET server CPU ms/req': { higher: false, max: 0.15, text: '<= 0.15 ms' },
  'blob HEAD req/s': { higher: true, ratio: 10, text: '>= 10x' },
  'blob HEAD p50 ms': { higher: false, text: '' },
  'blob HEAD p99 ms': { higher: false, text: '' },
  'blob HEAD server CPU ms/req': { higher: false, max: 0.15, text: '<= 0.15 ms' },
  'small image pushes /s': { higher: true, ratio: 3, text: '>= 3x' },
  'small image pushes, blobs PATCHed /s': { higher: true, ratio: 3, text: '>= 3x' },
  'tag list 1000 tags, pages of 50, ms': { higher: false, max: 10, text: '<= 10 ms' },
  'skopeo copy in s': { higher: false, ratio: 2, text: '<= 0.5x time' },
  'skopeo copy out s': { higher: false, ratio: 2, text: '<= 0.5x time' },
  'peak RSS MiB': { higher: false, ratio: 1, text: '<= 1x' },
};

/** One row of the report. */
export interface Row {
  figure: string;
  berth: number;
  reference?: number;
  ratio?: number;
  target: string;
  met?: boolean;
}

/** Judges every figure against its target. */
export function judge(berth: Figures, reference: Figures): Row[] {
  return Object.keys(berth).map((figure) => {
    const b = berth[figure]!;
    const r = reference[figure];
    const target = TARGETS[figure];
    const ratio = r === undefined || r === 0 ? undefined : b / r;
    let met: boolean | undefined;
    if (target?.max !== undefined) met = b <= target.max;
    else if (target?.ratio !== undefined && ratio !== undefined)
      met = target.higher ? ratio >= target.ratio : 1 / ratio >= target.ratio;
    return { figure, berth: b, reference: r, ratio, target: target?.text ?? '', met };
  });
}

/** The share of the machine's limit each byte-moving workload must reach. */
const LIMIT_SHARES: Record<string, number> = {
  'upload monolithic MiB/s': 0.9,
  'upload chunked MiB/s': 0.9,
  'download 1 stream MiB/s': 0.8,
  'download 8 streams MiB/s': 0.8,
};

/**
 * Judges Berth's uploads against the disk's durable write rate and its downloads against the
 * same client's rate from a static file server, both measured in the same run.
 */
export function judgeLimits(berth: Figures, limits: Figures): Row[] {
  return [...judgeShares(berth, limits), ...againstPutCeiling(berth, limits)];
}

/** Each byte-moving figure against its limit and the share `LIMIT_SHARES` wants of it. */
function judgeShares(berth: Figures, limits: Figures): Row[] {
  return Object.entries(LIMIT_SHARES)
    .filter(([figure]) => berth[figure] !== undefined && limits[figure] !== undefined)
    .map(([figure, share]) => {
      const ratio = berth[figure]! / limits[figure]!;
      return {
        figure,
        berth: berth[figure]!,
        reference: limits[figure],
        ratio,
        target: `>= ${share}x`,
        met: ratio >= share,
      };
    });
}

/**
 * The uploads against the same client sending the blob to nginx over loopback, fsynced after (the
 * network's share of an upload included): shown, not judged (the limit is the disk's).
 */
function againstPutCeiling(berth: Figures, limits: Figures): Row[] {
  const ceiling = limits['nginx PUT + fsync MiB/s'];
  if (ceiling === undefined) return [];
  return ['upload monolithic MiB/s', 'upload chunked MiB/s']
    .filter((figure) => berth[figure] !== undefined)
    .map((figure) => ({
      figure: `${figure} vs nginx PUT + fsync`,
      berth: berth[figure]!,
      reference: ceiling,
      ratio: berth[figure]! / ceiling,
      target: '',
    }));
}

/** Figures that measure a workload's speed (judged for the auth-on regression bound). */
function isWorkloadSpeed(figure: string): boolean {
  return /(MiB\/s|req\/s| \/s$| s$|, ms$)/.test(figure);
}

/** Judges Berth with auth on against Berth without: no workload may lose more than 10%. */
export function judgeAuth(withAuth: Figures, without: Figures): Row[] {
  return Object.keys(withAuth).map((figure) => {
    const a = withAuth[figure]!;
    const b = without[figure];
    const ratio = b === undefined || b === 0 ? undefined : a / b;
    const higher = TARGETS[figure]?.higher ?? false;
    const judged = isWorkloadSpeed(figure) && ratio !== undefined;
    return {
      figure,
      berth: a,
      reference: b,
      ratio,
      target: judged ? (higher ? '>= 0.9x' : '<= 1.1x') : '',
      met: judged ? (higher ? ratio >= 0.9 : ratio <= 1.1) : undefined,
    };
  });
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n >= 1000) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

/** The table people read; `columns` names the two registries compared. */
export function table(
  rows: Row[],
  columns: [string, string, string] = ['berth', 'reference', 'berth/ref'],
): string {
  const lines = [['figure', ...columns, 'target', 'met']];
  for (const row of rows) {
    lines.push([
      row.figure,
      fmt(row.berth),
      fmt(row.reference),
      row.ratio === undefined ? '-' : `${row.ratio.toFixed(2)}x`,
      row.target,
      row.met === undefined ? '' : row.met ? 'yes' : 'MISSED',
    ]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines
    .map((l) =>
      l
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  '),
    )
    .join('\n');
}

/** The machine-readable summary. */
export function jsonLine(
  mode: string,
  rows: Row[],
  machine: Figures,
  authRows: Row[] = [],
  limitRows: Row[] = [],
): string {
  return JSON.stringify({
    bench: 'berth-vs-reference',
    date: new Date().toISOString(),
    mode,
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      ...machine,
    },
    figures: Object.fromEntries(
      rows.map((r) => [
        r.figure,
        { berth: r.berth, reference: r.reference, ratio: r.ratio, target: r.target, met: r.met },
      ]),
    ),
    authOn: Object.fromEntries(
      authRows.map((r) => [
        r.figure,
        { berthAuth: r.berth, berth: r.reference, ratio: r.ratio, met: r.met },
      ]),
    ),
    againstLimits: Object.fromEntries(
      limitRows.map((r) => [
        r.figure,
        { berth: r.berth, limit: r.reference, ratio: r.ratio, target: r.target, met: r.met },
      ]),
    ),
  });
}
