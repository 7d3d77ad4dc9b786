/** Raw HTTP requests for tests that need control a client library would not give. */
import http from 'node:http';
import net from 'node:net';

/** Sends `head` and then `body` slowly, never finishing: resolves once `sent` bytes are written. */
export function startSlowUpload(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer,
  sent: number,
): Promise<http.ClientRequest> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, headers });
    req.on('error', () => undefined);
    req.write(body.subarray(0, sent), () => resolve(req));
  });
}

/** Sends a request line exactly as given (no URL normalisation) and returns status and body. */
export function rawRequest(
  host: string,
  port: number,
  requestLine: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () =>
      socket.write(`${requestLine}\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`),
    );
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', reject);
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
  });
}
