/** Telling how a file is compressed from its first bytes. */
import { open } from 'node:fs/promises';

/** A file's compression, by its magic number. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** The compression of `file` (an empty or short file counts as uncompressed). */
export async function sniffCompression(file: string): Promise<Compression> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && head.readUInt32BE(0) === 0x28b52ffd) return 'zstd';
    return 'none';
  } finally {
    await handle.close();
  }
}
