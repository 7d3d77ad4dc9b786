/** Writing an output file or folder so that it appears only when complete. */
import { open } from 'node:fs/promises';
import path from 'node:path';

/** Where `output` is written before it is renamed into place (beside it, same filesystem). */
export function partialPath(output: string): string {
  return path.join(
    path.dirname(path.resolve(output)),
    `.${path.basename(output)}.partial-${process.pid}`,
  );
}

/** Makes `file`'s bytes durable. */
export async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `err` with `output` named when the disk refused the write (full, read-only, no permission). */
export function diskError(output: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EACCES' || code === 'EROFS' || code === 'EDQUOT')
    return new Error(`${output}: ${(err as Error).message}; nothing was written`, { cause: err });
  return err;
}
