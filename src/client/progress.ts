/** What the image tools report as they move bytes; the CLI decides how to show it. */

/** Receives progress per item (a layer, a config, a manifest). */
export interface Progress {
  /** An item starts: `total` bytes expected. */
  start(id: string, label: string, total: number): void;
  /** `bytes` more of the item have moved. */
  advance(id: string, bytes: number): void;
  /** The item is done: `how` says what happened (`copied`, `exists`, `mounted`, …). */
  finish(id: string, how: string): void;
}

/** Progress that goes nowhere. */
export const NO_PROGRESS: Progress = { start: () => {}, advance: () => {}, finish: () => {} };
