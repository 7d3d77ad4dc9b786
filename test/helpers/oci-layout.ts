/** Writing OCI image layouts by hand (single images and multi-platform indexes) for skopeo and podman. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { blob, type TestBlob } from './content.js';
import { tempDir } from './server.js';

function writeBlob(dir: string, b: TestBlob): void {
  writeFileSync(path.join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
}

/** A gzip'd tar layer holding one file `name` with `content`. */
export function tarLayer(name: string, content: string): { layer: TestBlob; diffId: string } {
  const work = tempDir('layer');
  writeFileSync(path.join(work, name), content);
  const tar = spawnSync('tar', ['-C', work, '-cf', '-', name], { maxBuffer: 64 << 20 });
  const gz = spawnSync('gzip', ['-n', '-c'], { input: tar.stdout, maxBuffer: 64 << 20 });
  return { layer: blob(gz.stdout), diffId: blob(tar.stdout).digest };
}

/** An image for one platform: config, one layer, manifest. */
export function platformImage(
  architecture: string,
  marker: string,
): { manifest: TestBlob; blobs: TestBlob[] } {
  const { layer, diffId } = tarLayer(`arch-${architecture}.txt`, marker);
  const config = blob(
    JSON.stringify({
      architecture,
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  );
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.size,
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
  return { manifest, blobs: [config, layer, manifest] };
}

/** Writes an OCI layout whose `tag` names a multi-platform index over `architectures`. */
export function multiPlatformLayout(
  tag: string,
  architectures: string[],
): { dir: string; index: TestBlob; images: TestBlob[] } {
  const dir = tempDir('layout');
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const images = architectures.map((arch) => {
    const image = platformImage(arch, `built for ${arch}\n`);
    image.blobs.forEach((b) => writeBlob(dir, b));
    return { arch, manifest: image.manifest };
  });
  const index = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: images.map((i) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: i.manifest.digest,
        size: i.manifest.size,
        platform: { architecture: i.arch, os: 'linux' },
      })),
    }),
  );
  writeBlob(dir, index);
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          digest: index.digest,
          size: index.size,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { dir, index, images: images.map((i) => i.manifest) };
}

/** Builds an OCI layout with umoci: `tag` holds busybox plus a marker file. */
export function umociBusyboxLayout(tag: string, marker: string): string {
  const dir = path.join(tempDir('umoci'), 'layout');
  const bundle = path.join(path.dirname(dir), 'bundle');
  const umoci = (...args: string[]): void => {
    const r = spawnSync('umoci', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`umoci ${args.join(' ')}: ${r.stderr}`);
  };
  umoci('init', '--layout', dir);
  umoci('new', '--image', `${dir}:${tag}`);
  umoci('unpack', '--rootless', '--image', `${dir}:${tag}`, bundle);
  mkdirSync(path.join(bundle, 'rootfs', 'bin'), { recursive: true });
  writeFileSync(path.join(bundle, 'rootfs', 'bin', 'busybox'), readFileSync('/bin/busybox'), {
    mode: 0o755,
  });
  writeFileSync(path.join(bundle, 'rootfs', 'marker.txt'), marker);
  umoci('repack', '--image', `${dir}:${tag}`, bundle);
  umoci(
    'config',
    '--image',
    `${dir}:${tag}`,
    '--config.cmd',
    '/bin/busybox',
    '--config.cmd',
    'cat',
    '--config.cmd',
    '/marker.txt',
  );
  return dir;
}
