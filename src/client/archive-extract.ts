/** Unpacking an image archive (a tar, plain or gzip) into a folder, refusing paths that escape it. */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { sniffCompression } from './compression.js';

/** Extracts regular files of `archive` into `folder`; throws naming the archive when it is damaged. */
export async function extractArchive(archive: string, folder: string): Promise<void> {
  const extract = tar.extract();
  const root = path.resolve(folder);
  const done = (async () => {
    for await (const entry of extract) {
      const name = path.posix.normalize(entry.header.name).replace(/^\.\/+/, '');
      const target = path.resolve(root, name);
      const escapes = name.startsWith('..') || !target.startsWith(root + path.sep);
      if (entry.header.type === 'symlink' && entry.header.linkname && !escapes) {
        // docker save links repeated layer paths to one file; keep links that stay inside.
        const linked = path.resolve(path.dirname(target), entry.header.linkname);
        entry.resume();
        if (!linked.startsWith(root + path.sep))
          throw new Error(`${archive}: link ${entry.header.name} points outside the archive`);
        await mkdir(path.dirname(target), { recursive: true });
        await symlink(path.relative(path.dirname(target), linked), target);
        continue;
      }
      if (entry.header.type !== 'file' || name === '.' || escapes) {
        entry.resume();
        if (escapes && entry.header.type === 'file')
          throw new Error(`${archive}: entry ${entry.header.name} points outside the archive`);
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      await pipeline(entry, createWriteStream(target));
    }
  })();
  try {
    const source = createReadStream(archive);
    await Promise.all([
      (await sniffCompression(archive)) === 'gzip'
        ? pipeline(source, createGunzip(), extract)
        : pipeline(source, extract),
      done,
    ]);
  } catch (err) {
    const message = (err as Error).message;
    throw new Error(`${archive} is truncated or is not an image archive (${message})`, {
      cause: err,
    });
  }
}
