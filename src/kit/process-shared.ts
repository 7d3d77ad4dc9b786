/**
 * State that must be one per process even when a module is loaded twice. The S3 driver is not in
 * Berth's bundle (dist/berth.cjs): it is imported only when a bucket is configured, from its own
 * compiled files, which import their own copy of the kit — a second `chunk-release.ts`, whose
 * claims the bundle's copy never made, so on S3 no chunk was ever freed (counted by
 * `berth_upload_chunk_bytes_freed_total`: 0). State kept here is the same for every copy.
 */

/** The value named `name` for this process, made by `make` the first time any copy asks. */
export function processShared<T>(name: string, make: () => T): T {
  const key = Symbol.for(`berth.${name}`);
  const store = globalThis as unknown as Record<symbol, T | undefined>;
  return (store[key] ??= make());
}
