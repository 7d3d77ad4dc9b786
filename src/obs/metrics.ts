/** Prometheus metrics of one Berth process. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics a Berth process records, in their own registry. */
export class BerthMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'berth_http_requests_total',
    help: 'HTTP requests answered, by method, route kind and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'berth_http_request_duration_seconds',
    help: 'Time to answer HTTP requests',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly bytesReceived = new Counter({
    name: 'berth_blob_bytes_received_total',
    help: 'Blob bytes received in uploads',
    registers: [this.registry],
  });
  readonly bytesSent = new Counter({
    name: 'berth_blob_bytes_sent_total',
    help: 'Blob bytes sent in downloads',
    registers: [this.registry],
  });
  readonly gcRemoved = new Counter({
    name: 'berth_gc_removed_total',
    help: 'Objects removed by garbage collection',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly gcRuns = new Counter({
    name: 'berth_gc_runs_total',
    help: 'Garbage collections finished by this process, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly gcBytesFreed = new Counter({
    name: 'berth_gc_bytes_freed_total',
    help: 'Blob bytes removed by garbage collection',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'berth_' });
  }
}
