/** A tar archive's entries as comparable rows: path, type, mode, owner, link target, content hash. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/** One entry of an archive, without times. */
export interface TarRow {
  path: string;
  type: string;
  mode: string;
  owner: string;
  link: string;
  sha256: string;
}

/** Every entry of `file`; hard links are shown with their target's content (not as links). */
export async function tarRows(file: string): Promise<Map<string, TarRow>> {
  const rows = new Map<string, TarRow>();
  const extract = tar.extract();
  const reading = pipeline(createReadStream(file), extract);
  for await (const entry of extract) {
    const h = entry.header;
    const name = h.name.replace(/^\.?\//, '').replace(/\/$/, '');
    const hash = createHash('sha256');
    for await (const chunk of entry) hash.update(chunk as Buffer);
    const target = h.type === 'link' ? rows.get(h.linkname!.replace(/^\.?\//, '')) : undefined;
    rows.set(name, {
      path: name,
      type: h.type === 'link' ? 'file' : h.type!,
      mode: ((h.mode ?? 0) & 0o7777).toString(8),
      owner: `${h.uid}:${h.gid}`,
      link: h.type === 'symlink' ? (h.linkname ?? '') : '',
      sha256: target ? target.sha256 : hash.digest('hex'),
    });
  }
  await reading;
  return rows;
}
