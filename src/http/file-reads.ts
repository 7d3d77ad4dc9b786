/**
 * Reads of a blob file being sent. Bytes the page cache holds are read from it; bytes it does not
 * hold (asked with cachestat(2), which has no side effects) are, the first time a file is read
 * cold, read around it (`O_DIRECT`) into the sender's own aligned buffers (1 MiB each: a virtual
 * machine's disk costs far less CPU per large request), which stay hot in the process. A file
 * read cold before is read through the cache from then on, so a blob pulled again and again
 * becomes cached as before (and is then sent zero-copy, see zero-copy.ts).
 *
 * Why: uploads are written around the page cache (storage/direct-file-sink.ts), so a blob just
 * pushed is not cached. On the virtual machines Berth is measured on, filling the page cache means
 * touching memory the host has taken back: a cold 256 MiB blob went 450–1,200 MiB/s through the
 * cache and about 2,000 read directly. Without the addon, or where the filesystem refuses direct
 * reads, every read goes through the cache.
 */
import { constants, promises as fs, type promises } from 'node:fs';
import { DIRECT_ALIGNMENT, directIoAddon, isAligned } from '../kit/index.js';

type FileHandle = promises.FileHandle;

/** The page size cachestat counts in (4 KiB on the machines Berth runs on). */
const PAGE = 4096;

/**
 * The files read around the cache lately (at most `most`, the oldest forgotten first): the second
 * cold read of one goes through the cache.
 */
export class ColdFiles {
  private readonly seen = new Set<string>();

  constructor(private readonly most = 1024) {}

  /** True the first time `file` is asked about (read it around the cache); false after. */
  firstColdRead(file: string): boolean {
    if (this.seen.has(file)) return false;
    this.seen.add(file);
    if (this.seen.size > this.most) this.seen.delete(this.seen.values().next().value!);
    return true;
  }
}

/** The process's record of files read around the cache. */
export const coldFiles = new ColdFiles();

/** Reads one open file for a sender (see above). */
export class FileReads {
  private readonly addon = directIoAddon();
  /** The file opened with `O_DIRECT`: undefined until needed, null when not to be used. */
  private direct: FileHandle | null | undefined;

  constructor(
    private readonly handle: FileHandle,
    /** The file's path (for its direct handle); undefined reads everything through the cache. */
    private readonly file: string | undefined,
    private readonly cold: ColdFiles = coldFiles,
  ) {
    if (!file || !this.addon) this.direct = null;
  }

  /**
   * Whether a read of `want` bytes at `position` goes around the page cache: bytes it does not
   * hold, of a file not read cold before (its direct handle is opened here, the first time).
   */
  async goesAround(want: number, position: number): Promise<boolean> {
    if (this.direct === null || this.cached(want, position)) return false;
    return (await this.openDirect()) !== undefined;
  }

  /**
   * Reads up to `want` bytes at `position` into `buffer`: a view of `buffer` (empty at the end).
   * `around`, as `goesAround` answered for these bytes, reads them around the page cache (into an
   * aligned buffer; through the cache where the kernel refuses).
   */
  async read(buffer: Buffer, want: number, position: number, around = false): Promise<Buffer> {
    if (around && this.direct && isAligned(buffer)) {
      const bytes = await this.readDirect(this.direct, buffer, want, position);
      if (bytes) return bytes;
    }
    const { bytesRead } = await this.handle.read(buffer, 0, want, position);
    return buffer.subarray(0, bytesRead);
  }

  /**
   * Whether the page cache is known to hold all of `want` bytes at `position` (asked without side
   * effects); false when the kernel cannot tell or without the addon.
   */
  holdsCached(want: number, position: number): boolean {
    return this.cacheState(want, position) === 'cached';
  }

  /**
   * Whether the page cache holds all of `want` bytes at `position`; true when the kernel cannot
   * tell (reads then stay with the cache).
   */
  private cached(want: number, position: number): boolean {
    const state = this.cacheState(want, position);
    if (state === 'unknown') this.direct = null;
    return state !== 'cold';
  }

  private cacheState(want: number, position: number): 'cached' | 'cold' | 'unknown' {
    if (!this.addon) return 'unknown';
    const from = position - (position % PAGE);
    const pages = Math.ceil((position + want - from) / PAGE);
    const held = this.addon.cachedPages(this.handle.fd, from, pages * PAGE);
    if (held < 0) return 'unknown';
    return held >= pages ? 'cached' : 'cold';
  }

  /** Closes the direct handle, if one was opened (the caller closes its own). */
  async close(): Promise<void> {
    const direct = this.direct;
    this.direct = null;
    await direct?.close();
  }

  private async openDirect(): Promise<FileHandle | undefined> {
    if (this.direct === undefined) {
      this.direct = this.cold.firstColdRead(this.file!)
        ? await fs.open(this.file!, constants.O_RDONLY | constants.O_DIRECT).catch(() => null)
        : null;
    }
    return this.direct ?? undefined;
  }

  /**
   * Reads from the aligned block holding `position` into `buffer` and returns the wanted bytes
   * as a view; undefined (and no more direct reads) when the kernel refuses the read.
   */
  private async readDirect(
    direct: FileHandle,
    buffer: Buffer,
    want: number,
    position: number,
  ): Promise<Buffer | undefined> {
    const skip = position % DIRECT_ALIGNMENT;
    const blocks = Math.ceil((skip + want) / DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT;
    const length = Math.min(buffer.byteLength, blocks);
    try {
      const { bytesRead } = await direct.read(buffer, 0, length, position - skip);
      return buffer.subarray(skip, skip + Math.max(0, Math.min(bytesRead - skip, want)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      await this.close();
      return undefined;
    }
  }
}
