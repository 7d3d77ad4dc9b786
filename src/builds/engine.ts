/**
 * A Docker engine that builds: the context sent as a tar stream, the image built (classic
 * builder) with the commit's labels, its progress read line by line into the build log, then
 * tagged and pushed to Berth with the build's own credential. dockerode speaks the engine API;
 * it is loaded when the first build runs.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';

/** How to reach the engine: `unix:///var/run/docker.sock` or `tcp://host:2376` with TLS files. */
export interface EngineAddress {
  host: string;
  tls?: { ca?: string; cert?: string; key?: string };
}

/** One build for the engine. */
export interface EngineBuild {
  contextDir: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  cache: boolean;
  labels: Record<string, string>;
  /** The local name the image gets before it is tagged for the registry. */
  name: string;
}

/** Where and as whom the image is pushed. */
export interface EnginePush {
  /** `host:port` of Berth as the engine reaches it. */
  registry: string;
  repository: string;
  tags: string[];
  username: string;
  password: string;
}

/** Told each line of progress. */
export type LogLine = (line: string) => void;

/** Opens dockerode for `address`. */
export async function openEngine(address: EngineAddress): Promise<Docker> {
  const { default: Dockerode } = await import('dockerode');
  const read = (file?: string) => (file ? readFileSync(file) : undefined);
  if (address.host.startsWith('unix://'))
    return new Dockerode({ socketPath: address.host.slice('unix://'.length) });
  const url = new URL(address.host.replace(/^tcp:/, address.tls ? 'https:' : 'http:'));
  return new Dockerode({
    host: url.hostname,
    port: Number(url.port || (address.tls ? 2376 : 2375)),
    protocol: address.tls ? 'https' : 'http',
    ca: read(address.tls?.ca),
    cert: read(address.tls?.cert),
    key: read(address.tls?.key),
  });
}

/** The context folder as a tar stream (without `.git`). */
function contextTar(dir: string): Readable {
  const tar = spawn('tar', ['-C', dir, '--exclude=./.git', '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return tar.stdout;
}

interface Progress {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string };
  progressDetail?: unknown;
  id?: string;
}

/** Reads the engine's JSON-lines progress, logging it; rejects with the engine's error. */
function follow(
  stream: NodeJS.ReadableStream,
  log: LogLine,
  signal: AbortSignal,
  onAux: (aux: NonNullable<Progress['aux']>) => void = () => undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let failed: Error | undefined;
    const abort = () => {
      (stream as Readable).destroy();
      reject(new Error('cancelled'));
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    const line = (text: string) => {
      if (!text.trim()) return;
      let p: Progress;
      try {
        p = JSON.parse(text) as Progress;
      } catch {
        return log(text);
      }
      if (p.error || p.errorDetail) {
        failed = new Error(p.errorDetail?.message ?? p.error ?? 'the engine failed');
        log(`ERROR: ${failed.message}`);
        return;
      }
      if (p.aux) onAux(p.aux);
      if (p.stream) log(p.stream.replace(/\n$/, ''));
      else if (p.status && !p.progressDetail) log(p.id ? `${p.id}: ${p.status}` : p.status);
      else if (p.status && p.id && /^(Pushed|Layer already exists|Mounted)/.test(p.status))
        log(`${p.id}: ${p.status}`);
    };
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(line);
    });
    stream.on('end', () => {
      line(buffered);
      signal.removeEventListener('abort', abort);
      if (failed) reject(failed);
      else resolve();
    });
    stream.on('error', (err: Error) => {
      signal.removeEventListener('abort', abort);
      reject(failed ?? err);
    });
  });
}

/** Builds `build` on `engine`, logging progress; rejects with the engine's error line. */
export async function buildImage(
  engine: Docker,
  build: EngineBuild,
  log: LogLine,
  signal: AbortSignal,
): Promise<void> {
  const stream = await engine.buildImage(contextTar(build.contextDir), {
    t: build.name,
    dockerfile: build.dockerfile,
    buildargs: build.buildArgs,
    nocache: !build.cache,
    labels: build.labels,
    rm: true,
    forcerm: true,
  } as Docker.ImageBuildOptions);
  await follow(stream, log, signal);
}

/** Tags the built image for the registry and pushes every tag; resolves with the digest. */
export async function pushImage(
  engine: Docker,
  name: string,
  push: EnginePush,
  log: LogLine,
  signal: AbortSignal,
): Promise<string> {
  const repo = `${push.registry}/${push.repository}`;
  const image = engine.getImage(name);
  let digest: string | undefined;
  try {
    for (const tag of push.tags) {
      await image.tag({ repo, tag });
      log(`pushing ${repo}:${tag}`);
      const stream: NodeJS.ReadableStream = (await engine.getImage(`${repo}:${tag}`).push({
        tag,
        authconfig: {
          username: push.username,
          password: push.password,
          serveraddress: push.registry,
        },
      } as never)) as unknown as NodeJS.ReadableStream;
      await follow(stream, log, signal, (aux) => {
        if (aux.Digest) digest = aux.Digest;
      });
    }
  } finally {
    // The engine keeps its build cache, not Berth's names for the image.
    for (const tag of push.tags)
      await engine
        .getImage(`${repo}:${tag}`)
        .remove({ noprune: true })
        .catch(() => undefined);
    await image.remove({ noprune: true }).catch(() => undefined);
  }
  if (!digest) throw new Error('the engine did not say which digest it pushed');
  return digest;
}
