/** A TCP proxy on 127.0.0.1 that resets its first connections, for testing client retries. */
import net from 'node:net';

/** A running proxy. */
export interface FlakyProxy {
  host: string;
  /** Connections reset so far. */
  resets(): number;
  stop(): Promise<void>;
}

/** Forwards to `target` (`host:port`), resetting the first `failures` connections. */
export async function startFlakyProxy(target: string, failures: number): Promise<FlakyProxy> {
  const [host, port] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1)),
  ];
  let reset = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (reset < failures) {
      reset += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(port, host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: listening } = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${listening}`,
    resets: () => reset,
    stop: () =>
      new Promise((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}
