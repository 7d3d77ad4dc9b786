/** Prometheus metrics of one Berth process. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { freedChunkBytes } from '../kit/index.js';

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
  readonly storageRequests = new Counter({
    name: 'berth_storage_requests_total',
    help: 'Requests sent to the object store (S3), by operation',
    labelNames: ['operation'] as const,
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

  readonly cacheResults = new Counter({
    name: 'berth_cache_manifest_results_total',
    help: 'Manifests of pull-through cache repositories served, by outcome (hit, revalidated, fetched, stale)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly cacheUpstreamFetches = new Counter({
    name: 'berth_cache_upstream_fetches_total',
    help: 'Objects the pull-through cache fetched from its upstreams, by kind (manifest, blob)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'berth_webhook_deliveries_total',
    help: 'Webhook delivery attempts by this process, by outcome (success, failure, dead)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private zeroCopyWatched = false;

  /**
   * Reports the blob bytes this process has sent with sendfile(2), read by `read` at each scrape
   * (a part of `berth_blob_bytes_sent_total`). Watches once however often called.
   */
  watchZeroCopySends(read: () => number): void {
    if (this.zeroCopyWatched) return;
    this.zeroCopyWatched = true;
    new Counter({
      name: 'berth_blob_bytes_sent_zero_copy_total',
      help: 'Blob bytes sent from the page cache with sendfile(2), never copied through the process',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** Reports the webhook queue (shared by every replica) at each scrape, read by `read`. */
  watchWebhookQueue(read: () => Promise<{ pending: number; oldest: number | null }>): void {
    let last: Promise<{ pending: number; oldest: number | null }> | undefined;
    // Both gauges are filled from one read per scrape.
    const once = (): Promise<{ pending: number; oldest: number | null }> => {
      last ??= read().finally(() => setImmediate(() => (last = undefined)));
      return last;
    };
    new Gauge({
      name: 'berth_webhook_queue_depth',
      help: 'Webhook deliveries waiting to be made (or retried)',
      registers: [this.registry],
      async collect() {
        this.set((await once()).pending);
      },
    });
    new Gauge({
      name: 'berth_webhook_oldest_pending_seconds',
      help: 'Age of the oldest webhook delivery still waiting (0 when none waits)',
      registers: [this.registry],
      async collect() {
        const { oldest } = await once();
        this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
      },
    });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'berth_' });
    let counted = 0;
    new Counter({
      name: 'berth_upload_chunk_bytes_freed_total',
      help: 'Bytes of received upload chunks freed as soon as they were hashed and stored',
      registers: [this.registry],
      collect() {
        const freed = freedChunkBytes();
        this.inc(freed - counted);
        counted = freed;
      },
    });
  }
}
