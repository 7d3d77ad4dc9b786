/** The trust master key: from the environment, or a file made once in the data directory. */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

/**
 * The 32-byte master key: `fromEnvironment` (base64) when given, else the file at `file`,
 * created with mode 0600 (temp file, fsync, link: a key another process made first wins) when
 * it does not exist yet.
 */
export function loadMasterKey(file: string, fromEnvironment?: string): Buffer {
  if (fromEnvironment) {
    const key = Buffer.from(fromEnvironment, 'base64');
    if (key.length !== 32)
      throw new Error('the configured master key (trust.masterKey) must be 32 bytes, base64');
    return key;
  }
  try {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const key = randomBytes(32);
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${key.toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(temp);
  }
  return loadMasterKey(file);
}
