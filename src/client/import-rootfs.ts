/**
 * `berth image import`: a root filesystem tarball (plain or gzip) as a one-layer image, like
 * `docker import`. The layer streams through gzip to the registry while both digests are taken;
 * `--change` lines (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL) set the config.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { OCI_MANIFEST, digestOf } from '../oci/index.js';
import { sniffCompression } from './compression.js';
import { parsePlatform } from './copy.js';
import type { ImageRef } from './image-ref.js';
import type { RegistryClient } from './registry-client.js';
import { tap } from './streams.js';

/** The image config's `config` part. */
interface RunConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
}

function commandOf(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) {
    const parsed = JSON.parse(trimmed) as unknown;
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string'))
      throw new Error(`--change: ${value} is not a JSON list of strings`);
    return parsed;
  }
  return ['/bin/sh', '-c', trimmed];
}

function pairs(value: string, what: string): [string, string][] {
  return value
    .trim()
    .split(/\s+/)
    .map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new Error(`--change ${what} ${value}: write KEY=VALUE`);
      return [p.slice(0, eq), p.slice(eq + 1)];
    });
}

/** Applies Dockerfile-style `--change` instructions to a run config. */
export function applyChanges(changes: string[]): RunConfig {
  const config: RunConfig = {};
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)\s+([\s\S]+)$/.exec(change);
    if (!m) throw new Error(`--change ${change}: write INSTRUCTION VALUE`);
    const value = m[2]!;
    switch (m[1]!.toUpperCase()) {
      case 'CMD':
        config.Cmd = commandOf(value);
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = commandOf(value);
        break;
      case 'ENV':
        config.Env = [...(config.Env ?? []), ...pairs(value, 'ENV').map(([k, v]) => `${k}=${v}`)];
        break;
      case 'WORKDIR':
        config.WorkingDir = value.trim();
        break;
      case 'USER':
        config.User = value.trim();
        break;
      case 'EXPOSE':
        config.ExposedPorts = {
          ...config.ExposedPorts,
          ...Object.fromEntries(
            value
              .trim()
              .split(/\s+/)
              .map((p) => [p.includes('/') ? p : `${p}/tcp`, {}]),
          ),
        };
        break;
      case 'LABEL':
        config.Labels = { ...config.Labels, ...Object.fromEntries(pairs(value, 'LABEL')) };
        break;
      default:
        throw new Error(
          `--change ${change}: ${m[1]} is not supported (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL)`,
        );
    }
  }
  return config;
}

/** Imports `file` as image `ref`; returns the manifest digest. */
export async function importRootfs(
  client: RegistryClient,
  file: string,
  ref: ImageRef,
  options: { changes: string[]; platform?: string },
): Promise<string> {
  const platform = parsePlatform(options.platform ?? 'linux/amd64');
  const runConfig = applyChanges(options.changes);
  const diff = createHash('sha256');
  const open = () => {
    const out = new PassThrough();
    const source = createReadStream(file);
    void sniffCompression(file).then((compression) => {
      const plain = compression === 'gzip' ? source.pipe(createGunzip()) : source;
      plain.on('error', (err: Error) => out.destroy(new Error(`${file}: ${err.message}`)));
      plain
        .pipe(tap((chunk) => diff.update(chunk)))
        .pipe(createGzip({ level: 6 }))
        .pipe(out);
    });
    source.on('error', (err: Error) => out.destroy(err));
    return out;
  };
  const layer = await client.pushBlobStream(ref.repository, open);
  const now = new Date().toISOString();
  const config = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created: now,
      config: runConfig,
      rootfs: { type: 'layers', diff_ids: [`sha256:${diff.digest('hex')}`] },
      history: [
        { created: now, created_by: 'berth image import', comment: `imported from ${file}` },
      ],
    }),
  );
  const configDigest = digestOf(config);
  await client.pushBlob(ref.repository, configDigest, config.length, () => {
    const s = new PassThrough();
    s.end(config);
    return s;
  });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: layer.digest,
          size: layer.size,
        },
      ],
    }),
  );
  const digest = digestOf(manifest);
  await client.putManifest(ref.repository, ref.tag ?? 'latest', {
    bytes: manifest,
    mediaType: OCI_MANIFEST,
    digest,
  });
  return digest;
}
