/**
 * Reading a git source with the real `git`: the refs a remote has (`ls-remote`, for polling) and
 * the tree of one exact commit (fetched shallowly when the server allows, else through its ref).
 * Credentials go to git through its environment, never on a command line or into a log.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A git source: its URL and, for HTTP(S) servers, a user and token, or for SSH a deploy key. */
export interface GitSource {
  url: string;
  credentials?: { username: string; password: string } | null;
  /** An OpenSSH private key (the deploy key) for `ssh://` and `user@host:path` sources. */
  sshKey?: string | null;
  /** Where the SSH host keys seen first are kept, and checked on every later fetch. */
  knownHosts?: string;
}

const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)/;
const KINDS =
  'a git source is an http(s)://, ssh://, git:// or file:// URL, user@host:path, or an absolute path';

/** Why `url` cannot be a build source, or undefined. */
export function sourceUrlProblem(url: string): string | undefined {
  if (url.startsWith('/') || SCP_LIKE.test(url)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return KINDS;
  }
  if (!['http:', 'https:', 'ssh:', 'git:', 'file:'].includes(parsed.protocol)) return KINDS;
  if (parsed.password || (parsed.username && parsed.protocol !== 'ssh:'))
    return 'credentials go in the credentials field, not the URL';
  return undefined;
}

function environmentOf(source: GitSource, keyFile?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_COUNT: '0',
  };
  if (source.credentials) {
    const basic = Buffer.from(
      `${source.credentials.username}:${source.credentials.password}`,
    ).toString('base64');
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
  }
  if (keyFile) {
    // The host key seen first is kept and required after that (trust on first use, per host).
    const known = source.knownHosts ?? '/dev/null';
    env.GIT_SSH_COMMAND = `ssh -i '${keyFile}' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile='${known}'`;
  }
  return env;
}

/** Runs `work` with the deploy key in a file only this user can read, removed afterwards. */
async function withKeyFile<T>(source: GitSource, work: (file?: string) => Promise<T>): Promise<T> {
  if (!source.sshKey) return work();
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-key-'));
  const file = path.join(dir, 'id');
  try {
    const key = source.sshKey.endsWith('\n') ? source.sshKey : `${source.sshKey}\n`;
    await writeFile(file, key, { mode: 0o600 });
    return await work(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs git; resolves with its output, rejects with its last error line. */
function git(
  args: string[],
  source: GitSource,
  options: { cwd?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  return withKeyFile(source, (keyFile) => runGit(args, source, options, keyFile));
}

function runGit(
  args: string[],
  source: GitSource,
  options: { cwd?: string; timeoutMs?: number; signal?: AbortSignal },
  keyFile?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: environmentOf(source, keyFile),
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else {
        const last = err.trim().split('\n').filter(Boolean).at(-1) ?? `git exited with ${code}`;
        reject(new Error(`git ${args[0]}: ${last}`));
      }
    });
  });
}

/** Every branch and tag of the remote with its commit (`refs/heads/main` → sha). */
export async function remoteRefs(
  source: GitSource,
  timeoutMs = 60_000,
): Promise<Map<string, string>> {
  const out = await git(['ls-remote', '--heads', '--tags', '--', source.url], source, {
    timeoutMs,
  });
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, ref] = line.split('\t');
    if (!sha || !ref) continue;
    // An annotated tag's `^{}` line names the commit it points at.
    if (ref.endsWith('^{}')) refs.set(ref.slice(0, -3), sha);
    else if (!refs.has(ref)) refs.set(ref, sha);
  }
  return refs;
}

/**
 * Checks out commit `commit` (reached through `ref`) of `source` into the empty folder `dir`:
 * a shallow fetch of the commit itself, else of the ref, then a detached checkout.
 */
export async function checkout(
  source: GitSource,
  ref: string,
  commit: string,
  dir: string,
  signal?: AbortSignal,
): Promise<void> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit))
    throw new Error(`${commit} is not a commit id`);
  await mkdir(dir, { recursive: true });
  const run = (args: string[]) => git(args, source, { cwd: dir, signal });
  await run(['init', '-q']);
  try {
    await run(['fetch', '-q', '--no-tags', '--depth', '1', '--', source.url, commit]);
  } catch {
    await run(['fetch', '-q', '--no-tags', '--', source.url, `+${ref}:refs/berth/source`]);
  }
  await run(['checkout', '-q', '--detach', commit]);
}
