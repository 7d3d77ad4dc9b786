/**
 * HTTP framing over real sockets: what Node's parser refuses, ambiguous lengths, Host headers,
 * pipelining in order, and Authorization headers without credentials.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { blob, configBlob, ociManifest } from '../helpers/content.js';
import { testApp, type TestApp } from '../helpers/in-process.js';
import { pushBlob } from '../helpers/registry-calls.js';

/** Writes `data` on a new connection; resolves with all the server sent once it closes (or `ms`). */
function exchange(port: number, data: string | Buffer, ms = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    let received = '';
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', () => undefined);
  });
}

const statusLines = (text: string): string[] =>
  text.split('\r\n').filter((l) => /^HTTP\/1\.1 \d{3}/.test(l));

describe('HTTP framing', () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    t = await testApp({ auth: { mode: 'none' } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  after(() => t.close());

  it('answers a request the parser refuses once, with no body for HEAD, and closes', async () => {
    const got = await exchange(
      port,
      'HEAD /v2/a b/manifests/x HTTP/1.1\r\nHost: h\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    assert.deepEqual(statusLines(got), ['HTTP/1.1 400 Bad Request']);
    assert.equal(got.slice(got.indexOf('\r\n\r\n') + 4), '', 'no body after a HEAD');
    const nul = await exchange(port, 'GET /v2/\0 HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.match(nul, /^HTTP\/1\.1 400/);
    assert.match(nul, /"code":"UNSUPPORTED"|INVALID_REQUEST/);
    const big = await exchange(
      port,
      `GET /v2/ HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assert.match(big, /^HTTP\/1\.1 431/);
  });

  it('refuses Content-Length with Transfer-Encoding and never answers what was hidden in the body', async () => {
    const got = await exchange(
      port,
      'POST /v2/x/blobs/uploads/ HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '0\r\n\r\nGET /v2/_catalog HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    assert.deepEqual(statusLines(got), ['HTTP/1.1 400 Bad Request']);
    assert.doesNotMatch(got, /repositories/);
  });

  it('refuses two Host headers and Hosts that are not hosts', async () => {
    const twice = await exchange(port, 'GET /v2/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
    assert.match(twice, /^HTTP\/1\.1 400/);
    for (const host of ['a b', '../../x', '[::1', 'a@b:1', 'h:5000/../x', 'h:99999'])
      assert.match(
        await exchange(port, `GET /v2/ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
        /^HTTP\/1\.1 400/,
        host,
      );
    for (const host of ['registry.example.com', '127.0.0.1:5000', '[::1]:5000', 'localhost'])
      assert.match(
        await exchange(port, `GET /v2/ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
        /^HTTP\/1\.1 200/,
        host,
      );
  });

  it('closes the connection when an answer leaves part of the body unread', async () => {
    // A manifest over the 4 MiB bound is refused part-way; the rest of its body must never be
    // read as the next request.
    const head =
      'PUT /v2/big/one/manifests/v1 HTTP/1.1\r\nHost: h\r\n' +
      `Content-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: ${6 << 20}\r\n\r\n`;
    const hidden = 'GET /v2/ HTTP/1.1\r\nHost: h\r\n\r\n';
    const started = Date.now();
    const got = await exchange(
      port,
      Buffer.concat([Buffer.from(head), Buffer.alloc(6 << 20, 0x20), Buffer.from(hidden)]),
      60_000,
    );
    assert.deepEqual(statusLines(got), ['HTTP/1.1 413 Payload Too Large']);
    assert.match(got, /\r\nconnection: close\r\n/i);
    assert.ok(Date.now() - started < 30_000, 'closed by the server once the body was read');
  });

  it('reads the rest of a refused body before closing, so the answer is not reset away', async () => {
    // The answer comes while the client is still sending; the client goes on sending after it.
    // Had the server closed at once, those bytes would meet a reset (EPIPE / ECONNRESET here,
    // and on a busy machine the answer itself lost — what a docker push would then print).
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let received = '';
    const answered = new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        received += d.toString('latin1');
        if (/\r\n\r\n[^]*"errors"[^]*\}\s*$/.test(received)) resolve();
      }),
    );
    const errors: Error[] = [];
    socket.on('error', (e) => errors.push(e));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(
      'PUT /v2/big/two/manifests/v1 HTTP/1.1\r\nHost: h\r\n' +
        `Content-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: ${8 << 20}\r\n\r\n`,
    );
    socket.write(Buffer.alloc(5 << 20, 0x20));
    await answered;
    assert.match(received, /^HTTP\/1\.1 413/);
    assert.match(received, /\r\nconnection: close\r\n/i);
    for (let i = 0; i < 3; i += 1) {
      await new Promise<void>((resolve, reject) =>
        socket.write(Buffer.alloc(1 << 20, 0x20), (e) => (e ? reject(e) : resolve())),
      );
    }
    await closed;
    assert.deepEqual(errors, [], 'no reset while the body was still being sent');
    assert.deepEqual(statusLines(received), ['HTTP/1.1 413 Payload Too Large']);
  });

  it('handles the requests of one connection in order', async () => {
    const config = configBlob({ n: 'pipelined' });
    const layer = blob(100);
    await pushBlob(t.app, 'pipe/line', config);
    await pushBlob(t.app, 'pipe/line', layer);
    const m = ociManifest(config, [layer]);
    const put =
      `PUT /v2/pipe/line/manifests/v1 HTTP/1.1\r\nHost: h\r\n` +
      `Content-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: ${m.bytes.length}\r\n\r\n`;
    const got = await exchange(
      port,
      Buffer.concat([
        Buffer.from(put),
        m.bytes,
        Buffer.from(
          'GET /v2/pipe/line/manifests/v1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
        ),
      ]),
    );
    assert.deepEqual(statusLines(got), ['HTTP/1.1 201 Created', 'HTTP/1.1 200 OK']);
  });
});

describe('Authorization headers without credentials', () => {
  let t: TestApp;
  before(async () => (t = await testApp({ auth: { mode: 'token' } })));
  after(() => t.close());

  it('are refused with 401, never taken as anonymous', async () => {
    for (const authorization of ['', 'Basic', 'Bearer', 'Basic ', 'Negotiate abc']) {
      const res = await t.app.inject({ method: 'GET', url: '/v2/', headers: { authorization } });
      assert.equal(res.statusCode, 401, JSON.stringify(authorization));
      assert.doesNotMatch(res.body, /basi\b/);
    }
  });
});
