/** The reference registry (Debian's docker-registry, CNCF distribution) on 127.0.0.1 for a test. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, removeDir, tempDir } from './server.js';

/** A running reference registry. */
export interface ReferenceRegistry {
  host: string;
  stop(): Promise<void>;
}

/** Starts `docker-registry serve` with a fresh filesystem root and waits until /v2/ answers. */
export async function startReferenceRegistry(): Promise<ReferenceRegistry> {
  const dir = tempDir('reference');
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; ; i += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
    } catch {
      if (i > 100 || child.exitCode !== null) throw new Error('docker-registry did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    host: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      removeDir(dir);
    },
  };
}
