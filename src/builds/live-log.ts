/** The log of a build while it runs: kept in memory (bounded), and told to whoever follows it. */

/** Told each new line; `null` when the build ended. */
export type LogListener = (line: string | null) => void;

const MAX_BYTES = 1 << 20;

/** One running build's log. */
export class LiveLog {
  private lines: string[] = [];
  private bytes = 0;
  private dropped = 0;
  private readonly listeners = new Set<LogListener>();

  /** Adds a line (lines past 1 MiB push the oldest out). */
  add(line: string): void {
    const stamped = `${new Date().toISOString().slice(11, 19)} ${line}`;
    this.lines.push(stamped);
    this.bytes += stamped.length + 1;
    while (this.bytes > MAX_BYTES && this.lines.length > 1) {
      this.bytes -= this.lines.shift()!.length + 1;
      this.dropped += 1;
    }
    for (const listener of this.listeners) listener(stamped);
  }

  /** The log so far. */
  text(): string {
    const head = this.dropped > 0 ? `[${this.dropped} earlier lines dropped]\n` : '';
    return head + this.lines.join('\n');
  }

  /** Follows the log; returns a function that stops following. */
  follow(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every follower the build ended. */
  end(): void {
    for (const listener of this.listeners) listener(null);
    this.listeners.clear();
  }
}
