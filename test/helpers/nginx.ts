/** A real nginx on 127.0.0.1 balancing over several upstreams, for replica tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { freePort, removeDir, tempDir } from './server.js';

/** A running nginx and its address. */
export interface Nginx {
  host: string;
  url: string;
  /** The master process (its worker is its child). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Runs nginx on a free 127.0.0.1 port with `server` (given the port) as the `http` block's
 * content, its temporary files in a directory of its own; resolves once it accepts connections.
 */
async function runNginx(server: (port: number) => string): Promise<Nginx> {
  const dir = tempDir('nginx');
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d));
  const port = await freePort();
  const conf = `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${server(port)}
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 100; i += 1) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGQUIT');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      removeDir(dir);
    },
  };
}

/**
 * Starts nginx round-robin over `upstreams` (`127.0.0.1:port`), streaming bodies both ways. With
 * `bind`, nginx connects to the upstreams from that address and sends `X-Forwarded-For`.
 */
export function startNginx(upstreams: string[], options: { bind?: string } = {}): Promise<Nginx> {
  return runNginx(
    (port) => `
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  upstream berth {
${upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=60s;`).join('\n')}
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      proxy_pass http://berth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;${
        options.bind
          ? `
      proxy_bind ${options.bind};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`
          : ''
      }
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 300s;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }`,
  );
}

/** Starts nginx serving the files under `root` with `sendfile` (a static file server's ceiling). */
export function startStaticNginx(root: string): Promise<Nginx> {
  return runNginx(
    (port) => `
  sendfile on;
  tcp_nopush on;
  server { listen 127.0.0.1:${port}; root ${root}; default_type application/octet-stream; }`,
  );
}

/**
 * Starts nginx taking `PUT`s of any size into files under `root` (its WebDAV module: the body
 * written to a temporary file, then renamed into place; nothing fsynced).
 */
export function startPutNginx(root: string): Promise<Nginx> {
  return runNginx(
    (port) => `
  server {
    listen 127.0.0.1:${port};
    root ${root};
    client_max_body_size 0;
    dav_methods PUT;
    create_full_put_path on;
  }`,
  );
}
