/**
 * Background syncs of a file being written, so the disk flushes while the body is still arriving
 * instead of all at once when the upload is committed: each time the written end crosses a
 * multiple of `markBytes`, an fdatasync starts (one at a time, never awaited by the writes; a mark
 * crossed while one runs is left to the next). Marks are file offsets, so they fall across a
 * chunked upload's requests too.
 */
import type { FileHandle } from 'node:fs/promises';

/** A file's write-behind: told of each write, settled before the file is synced and closed. */
export interface WriteBehind {
  /** Notes that the bytes from `from` to `to` are written; may start a background sync. */
  written(from: number, to: number): void;
  /** Resolves once no background sync runs; rejects with the first error one met. */
  settled(): Promise<void>;
}

/** Write-behind for `handle` with a sync at each `markBytes` mark. */
export function writeBehind(handle: FileHandle, markBytes: number): WriteBehind {
  let syncing: Promise<void> | undefined;
  let syncError: unknown;
  return {
    written(from, to) {
      if (syncing || Math.floor(from / markBytes) === Math.floor(to / markBytes)) return;
      syncing = handle.datasync().then(
        () => void (syncing = undefined),
        (err: unknown) => void ((syncError ??= err), (syncing = undefined)),
      );
    },
    async settled() {
      while (syncing) await syncing;
      // A later sync through another descriptor may not report the error again: it stays.
      if (syncError) throw syncError;
    },
  };
}
