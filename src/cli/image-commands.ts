/** `berth image …`, `berth login`, `berth logout`: the image tools, usable without a Berth server. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  copyImage,
  forgetCredentials,
  exportImage,
  importRootfs,
  inspectImage,
  loadImages,
  parseImageRef,
  saveImages,
  referenceOf,
  RegistryClient,
  storeCredentials,
  storedCredentials,
  type Credentials,
} from '../client/index.js';
import { readStdinSecret } from './directory.js';
import { progressFor } from './progress-view.js';

type Flags = Record<string, unknown>;

function credentialsFrom(flag: unknown, registry: string): Credentials | undefined {
  if (typeof flag === 'string') {
    const colon = flag.indexOf(':');
    if (colon <= 0) throw new Error('credentials are USER:PASSWORD');
    return { kind: 'basic', username: flag.slice(0, colon), password: flag.slice(colon + 1) };
  }
  return storedCredentials(registry);
}

function clientFor(
  registry: string,
  flags: Flags,
  credsFlag: unknown = flags.creds,
): RegistryClient {
  return new RegistryClient(registry, {
    insecure: Boolean(flags.insecure),
    credentials: credentialsFrom(credsFlag, registry),
  });
}

function withClientFlags(cmd: Command): Command {
  return cmd
    .option('--creds <user:password>', 'credentials (default: those of docker login / berth login)')
    .option('--insecure', 'plain HTTP (loopback addresses use it anyway)', false);
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Adds `berth image` and `berth login`/`logout` to `program`. */
export function registerImageCommands(program: Command): void {
  const image = program
    .command('image')
    .description('images in any registry: copy, inspect, tags, digest, rm, catalog');

  withClientFlags(
    image
      .command('copy <src> <dst>')
      .description('copy an image (or a whole index) between registries or repositories'),
  )
    .option('--all-platforms', 'copy a multi-platform index whole', false)
    .option('--platform <os/arch>', 'which image of an index to copy (default linux/amd64)')
    .option('--src-creds <user:password>', 'credentials for the source')
    .option('--dest-creds <user:password>', 'credentials for the destination')
    .option('--json', 'progress and result as JSON lines', false)
    .action(async (srcText: string, dstText: string, f: Flags) => {
      const src = parseImageRef(srcText);
      const dst = parseImageRef(dstText);
      const progress = progressFor(Boolean(f.json));
      try {
        const result = await copyImage(
          { client: clientFor(src.registry, f, f.srcCreds ?? f.creds), ref: src },
          { client: clientFor(dst.registry, f, f.destCreds ?? f.creds), ref: dst },
          {
            allPlatforms: Boolean(f.allPlatforms),
            platform: f.platform as string | undefined,
            progress,
          },
        );
        progress.stop();
        if (f.json) print(JSON.stringify({ event: 'done', ...result }));
        else {
          const b = result.blobs;
          print(
            `copied ${srcText} to ${dstText} (${result.digest}): ${b.copied} blobs copied, ${b.mounted} mounted, ${b.existing} already there`,
          );
        }
      } finally {
        progress.stop();
      }
    });

  withClientFlags(
    image
      .command('save <refs...>')
      .description('save images to a docker-archive (docker load reads it) or an OCI layout'),
  )
    .requiredOption(
      '-o, --output <file>',
      'the tarball (or, for --format oci without .tar, a folder)',
    )
    .option('--format <format>', 'docker or oci', 'docker')
    .option('--platform <os/arch>', 'which image of an index (default linux/amd64)')
    .option('--all-platforms', 'keep whole indexes (--format oci)', false)
    .option('--json', 'progress as JSON lines', false)
    .action(async (texts: string[], f: Flags) => {
      if (f.format !== 'docker' && f.format !== 'oci') throw new Error('--format is docker or oci');
      if (f.allPlatforms && f.format !== 'oci')
        throw new Error('--all-platforms needs --format oci (docker load takes single images)');
      const refs = texts.map((t) => parseImageRef(t));
      const progress = progressFor(Boolean(f.json));
      try {
        await saveImages(refs, f.output as string, {
          format: f.format,
          allPlatforms: Boolean(f.allPlatforms),
          platform: f.platform as string | undefined,
          clientFor: (registry) => clientFor(registry, f),
          progress,
        });
      } finally {
        progress.stop();
      }
      print(`saved ${texts.join(', ')} to ${String(f.output)}`);
    });

  withClientFlags(
    image
      .command('load <source>')
      .description('push the images of a docker save tarball or an OCI layout (folder or tar)'),
  )
    .option('--tag <ref>', 'push the (one) image here instead of under its saved name')
    .option('--json', 'progress as JSON lines', false)
    .action(async (source: string, f: Flags) => {
      if (!existsSync(source)) throw new Error(`${source}: no such file or folder`);
      const progress = progressFor(Boolean(f.json));
      let loaded;
      try {
        loaded = await loadImages(source, {
          tag: typeof f.tag === 'string' ? parseImageRef(f.tag) : undefined,
          clientFor: (registry) => clientFor(registry, f),
          progress,
        });
      } finally {
        progress.stop();
      }
      for (const l of loaded) print(`loaded ${l.name} (${l.digest})`);
    });

  withClientFlags(
    image
      .command('export <ref>')
      .description("write an image's flattened root filesystem as a tar (like docker export)"),
  )
    .requiredOption('-o, --output <file>', 'the tarball')
    .option('--platform <os/arch>', 'which image of an index (default linux/amd64)')
    .action(async (text: string, f: Flags) => {
      const ref = parseImageRef(text);
      await exportImage(
        clientFor(ref.registry, f),
        ref,
        f.output as string,
        f.platform as string | undefined,
      );
      print(`exported ${text} to ${String(f.output)}`);
    });

  withClientFlags(
    image
      .command('import <file> <ref>')
      .description(
        'make a root filesystem tarball (plain or gzip) a one-layer image (like docker import)',
      ),
  )
    .option(
      '--change <instruction>',
      "a Dockerfile instruction for the config: 'CMD …', 'ENV K=V', ENTRYPOINT, WORKDIR, USER, EXPOSE, LABEL",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--platform <os/arch>', 'the platform to record (default linux/amd64)')
    .action(async (file: string, text: string, f: Flags) => {
      if (!existsSync(file)) throw new Error(`${file}: no such file`);
      const ref = parseImageRef(text);
      const digest = await importRootfs(clientFor(ref.registry, f), file, ref, {
        changes: f.change as string[],
        platform: f.platform as string | undefined,
      });
      print(`imported ${file} as ${text} (${digest})`);
    });

  withClientFlags(image.command('inspect <ref>').description('describe an image or index'))
    .option('--raw', 'print the manifest exactly as stored', false)
    .action(async (text: string, f: Flags) => {
      const ref = parseImageRef(text);
      const client = clientFor(ref.registry, f);
      if (f.raw)
        process.stdout.write((await client.getManifest(ref.repository, referenceOf(ref))).bytes);
      else print(JSON.stringify(await inspectImage(client, ref), null, 2));
    });

  withClientFlags(
    image.command('digest <ref>').description("print an image's manifest digest"),
  ).action(async (text: string, f: Flags) => {
    const ref = parseImageRef(text);
    print((await clientFor(ref.registry, f).getManifest(ref.repository, referenceOf(ref))).digest);
  });

  withClientFlags(
    image.command('tags <repository>').description("list a repository's tags"),
  ).action(async (text: string, f: Flags) => {
    const ref = parseImageRef(text, { repositoryOnly: true });
    for (const tag of await clientFor(ref.registry, f).tags(ref.repository)) print(tag);
  });

  withClientFlags(
    image
      .command('rm <ref>')
      .description('delete a tag (REPO:TAG) or a manifest with all its tags (REPO@DIGEST)'),
  ).action(async (text: string, f: Flags) => {
    const ref = parseImageRef(text);
    if (!ref.tag && !ref.digest) throw new Error(`${text}: name a tag or a digest to delete`);
    await clientFor(ref.registry, f).deleteManifest(ref.repository, referenceOf(ref));
    print(`deleted ${text}`);
  });

  withClientFlags(
    image.command('catalog <registry>').description('list the repositories a registry shows you'),
  ).action(async (registry: string, f: Flags) => {
    const client = clientFor(registry, f);
    for (const name of await client.catalog()) print(name);
  });

  program
    .command('login <registry>')
    .description(
      'log in to a registry; credentials go where docker login puts them (~/.docker/config.json)',
    )
    .requiredOption('-u, --username <user>', 'user name')
    .option('--password-stdin', 'read the password (or access token) from standard input', false)
    .option('--insecure', 'plain HTTP', false)
    .action(async (registry: string, f: Flags) => {
      if (!f.passwordStdin)
        throw new Error('pass the password on standard input with --password-stdin');
      const password = await readStdinSecret();
      const username = f.username as string;
      await new RegistryClient(registry, {
        insecure: Boolean(f.insecure),
        credentials: { kind: 'basic', username, password },
      }).ping();
      storeCredentials(registry, username, password);
      print(`Login Succeeded (${username} at ${registry})`);
    });

  program
    .command('logout <registry>')
    .description('forget the credentials kept for a registry')
    .action((registry: string) => {
      print(
        forgetCredentials(registry)
          ? `Removed login credentials for ${registry}`
          : `Not logged in to ${registry}`,
      );
    });
}
