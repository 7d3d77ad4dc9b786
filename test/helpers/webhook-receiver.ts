/** A real HTTP receiver on 127.0.0.1 for webhook tests: records every delivery, answers as told. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { waitUntil } from './wait.js';

export { waitUntil };

/** One request the receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  at: number;
}

/** A running receiver. */
export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Every request, whatever it was answered. */
  all: Received[];
  /** The status the next requests get (200 by default). */
  answer: number;
  /** Resolves once `check` holds over what was received; fails after `ms`. */
  until(check: (got: Received[]) => boolean, what: string, ms?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 (on `port` when given, to come back on the same address). */
export async function startReceiver(port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const all: Received[] = [];
  const receiver: Receiver = {
    url: '',
    port: 0,
    received,
    all,
    answer: 200,
    async until(check, what, ms) {
      await waitUntil(() => check(received), what, ms);
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const status = receiver.answer;
      const got = { headers: req.headers, body, json, at: Date.now() };
      all.push(got);
      if (status >= 200 && status < 300) received.push(got);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`answered ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  receiver.port = typeof address === 'object' && address ? address.port : port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hook`;
  return receiver;
}
