/** `berth gc`: garbage collection against the data directory, safe while a server runs. */
import type { BerthConfig } from '../config/index.js';
import { formatBytes } from '../kit/index.js';
import { createCliLogger } from '../obs/index.js';
import type { GcReport } from '../registry/index.js';
import { composeBerth } from './compose.js';

/** Options of `berth gc`. */
export interface GcCommandOptions {
  dryRun: boolean;
  json: boolean;
}

/** The report as people read it. */
export function formatGcReport(report: GcReport): string {
  const verb = report.dryRun ? 'would remove' : 'removed';
  const lines = [
    ...report.manifests.map((m) => `manifest ${m.repository}@${m.digest}`),
    ...report.links.map((l) => `link     ${l.repository} -> ${l.digest}`),
    ...report.blobs.map((b) => `blob     ${b.digest} (${formatBytes(b.size)})`),
  ];
  lines.push(
    `gc ${verb} ${report.manifests.length} manifests, ${report.links.length} blob links, ${report.blobs.length} blobs, freeing ${formatBytes(report.bytesFreed)}`,
  );
  return lines.join('\n');
}

/** Runs one collection and prints what it freed. */
export async function runGc(config: BerthConfig, options: GcCommandOptions): Promise<GcReport> {
  const berth = await composeBerth(config, createCliLogger());
  try {
    const report = await berth.registry.gc.collect({
      dryRun: options.dryRun,
      deleteUntagged: config.gc.untagged === 'delete',
      graceMs: config.gc.grace * 1000,
    });
    process.stdout.write(
      options.json ? `${JSON.stringify(report)}\n` : `${formatGcReport(report)}\n`,
    );
    return report;
  } finally {
    await berth.close();
  }
}
