/**
 * A real git server for tests: bare repositories under one folder served over smart HTTP by
 * `git http-backend` (the CGI git ships), hosted by a small HTTP server on 127.0.0.1; and a
 * working copy to commit and push from.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { tempDir } from './server.js';

const BACKEND = '/usr/lib/git-core/git-http-backend';

/** A running git server. */
export interface GitServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  root: string;
  /** Makes a bare repository `name.git` and a working copy of it; returns helpers for both. */
  repository(name: string): GitRepository;
  close(): Promise<void>;
}

/** A repository on the server with a working copy to change it from. */
export interface GitRepository {
  url: string;
  /** Writes files, commits them to `branch` and pushes; returns the commit id. */
  commit(files: Record<string, string>, message: string, branch?: string): string;
  /** Tags the last commit and pushes the tag; returns the commit id. */
  tag(name: string): string;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Berth Test',
      GIT_AUTHOR_EMAIL: 'test@berth.invalid',
      GIT_COMMITTER_NAME: 'Berth Test',
      GIT_COMMITTER_EMAIL: 'test@berth.invalid',
    },
  }).trim();
}

/** Starts a git server over a fresh folder. */
export async function startGitServer(): Promise<GitServer> {
  const root = tempDir('git');
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cgi = spawn(BACKEND, [], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method,
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        CONTENT_LENGTH: req.headers['content-length'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (started) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      started = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const [name, ...rest] = line.split(':');
        const value = rest.join(':').trim();
        if (name!.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else res.setHeader(name!, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    root,
    repository(name) {
      const bare = path.join(root, `${name}.git`);
      git(root, 'init', '-q', '--bare', '-b', 'main', bare);
      git(bare, 'config', 'http.receivepack', 'true');
      const work = tempDir('git-work');
      git(work, 'init', '-q', '-b', 'main');
      git(work, 'remote', 'add', 'origin', bare);
      return {
        url: `${base}/${name}.git`,
        commit(files, message, branch = 'main') {
          git(work, 'checkout', '-q', '-B', branch);
          for (const [file, text] of Object.entries(files)) {
            mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
            writeFileSync(path.join(work, file), text);
          }
          git(work, 'add', '-A');
          git(work, 'commit', '-q', '-m', message);
          git(work, 'push', '-q', 'origin', branch);
          return git(work, 'rev-parse', 'HEAD');
        },
        tag(tagName) {
          git(work, 'tag', tagName);
          git(work, 'push', '-q', 'origin', tagName);
          return git(work, 'rev-parse', 'HEAD');
        },
      };
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
