/**
 * An HTTP proxy on 127.0.0.1 in front of a registry, for tests: it counts blob GETs, can break
 * one blob transfer part way, and can play dead. It runs in the test's process, so the calls that
 * go through it must not block (no spawnSync meanwhile).
 */
import http from 'node:http';

/** A running counting proxy. */
export interface CountingProxy {
  host: string;
  /** GETs of blob `digest` seen so far. */
  blobGets(digest: string): number;
  /** Breaks the next whole GET of `path` after `after` bytes. */
  breakOnce(path: string, after: number): void;
  /** Drops every connection while down. */
  setDown(down: boolean): void;
  stop(): Promise<void>;
}

/** Starts a proxy in front of `target` (`host:port`). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const counts = new Map<string, number>();
  let breakNext: { path: string; after: number } | undefined;
  let down = false;
  const server = http.createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const path = req.url ?? '/';
    if (req.method === 'GET' && path.includes('/blobs/'))
      counts.set(path, (counts.get(path) ?? 0) + 1);
    const upstream = http.request(
      `http://${target}${path}`,
      { method: req.method, headers: { ...req.headers, host: target } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (breakNext && path === breakNext.path && !req.headers.range) {
          const limit = breakNext.after;
          breakNext = undefined;
          let sent = 0;
          answer.on('data', (chunk: Buffer) => {
            if (sent >= limit) return;
            const part = chunk.subarray(0, limit - sent);
            sent += part.length;
            res.write(part);
            if (sent >= limit) res.socket?.destroy();
          });
          return;
        }
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    blobGets: (digest: string) =>
      [...counts].filter(([p]) => p.endsWith(digest)).reduce((n, [, c]) => n + c, 0),
    breakOnce: (path: string, after: number) => (breakNext = { path, after }),
    setDown: (value: boolean) => (down = value),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
