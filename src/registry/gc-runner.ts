/** One garbage collection at a time in the background, with its progress readable meanwhile. */
import type { GarbageCollector, GcOptions, GcReport } from './gc.js';
import type { LeasedWork } from './leased-work.js';

/** What the current (or last) collection is doing. */
export interface GcStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  /** The replica running it (this one, or another holding the GC lease). */
  runner: string | null;
  phase: 'manifests' | 'links' | 'blobs' | null;
  startedAt: string | null;
  finishedAt: string | null;
  dryRun: boolean;
  manifests: number;
  links: number;
  blobs: number;
  bytesFreed: number;
  error: string | null;
}

/** Starts collections and reports on them. */
export class GcRunner {
  private status: GcStatus = {
    state: 'idle',
    runner: null,
    phase: null,
    startedAt: null,
    finishedAt: null,
    dryRun: false,
    manifests: 0,
    links: 0,
    blobs: 0,
    bytesFreed: 0,
    error: null,
  };
  private report: GcReport | undefined;

  constructor(
    private readonly gc: GarbageCollector,
    private readonly work: LeasedWork,
    private readonly holder: string,
    private readonly finished: (report: GcReport | undefined, failed: boolean) => void = () => {},
  ) {}

  /** The lease name collections run under. */
  static readonly LEASE = 'gc';

  /** The status now, with live counts while running. */
  current(): GcStatus {
    const r = this.report;
    if (r && this.status.state === 'running') {
      return {
        ...this.status,
        manifests: r.manifests.length,
        links: r.links.length,
        blobs: r.blobs.length,
        bytesFreed: r.blobs.reduce((sum, b) => sum + b.size, 0),
      };
    }
    return { ...this.status };
  }

  /**
   * Starts a collection unless one runs here or on another replica (which then shows as the
   * runner); returns the status.
   */
  async start(options: Omit<GcOptions, 'onPhase'>): Promise<GcStatus> {
    if (this.status.state === 'running') return this.current();
    const elsewhere = await this.work.holderOf(GcRunner.LEASE);
    if (elsewhere && elsewhere !== this.holder)
      return { ...this.current(), state: 'running', runner: elsewhere };
    this.report = undefined;
    this.status = {
      ...this.status,
      state: 'running',
      runner: this.holder,
      phase: null,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      dryRun: options.dryRun,
      error: null,
    };
    this.work
      .run(GcRunner.LEASE, 60_000, () =>
        this.gc.collect({
          ...options,
          onPhase: (phase, report) => {
            this.status.phase = phase;
            this.report = report;
          },
        }),
      )
      .then((outcome) => {
        if (!outcome.ran) {
          this.status = { ...this.status, state: 'idle', runner: outcome.holder ?? null };
          return;
        }
        const report = outcome.value;
        this.finished(report, false);
        this.status = {
          ...this.status,
          state: 'done',
          phase: null,
          finishedAt: new Date().toISOString(),
          manifests: report.manifests.length,
          links: report.links.length,
          blobs: report.blobs.length,
          bytesFreed: report.bytesFreed,
        };
      })
      .catch((err: unknown) => {
        this.finished(undefined, true);
        this.status = {
          ...this.status,
          state: 'failed',
          finishedAt: new Date().toISOString(),
          error: (err as Error).message,
        };
      });
    return this.current();
  }
}
