import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { deferredRequestLogger } from './request-logger.js';

describe("a request's deferred logger", () => {
  it('makes the child only for a request that logs, with the request id bound', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    let children = 0;
    const child = logger.child.bind(logger);
    logger.child = ((...args: Parameters<typeof child>) => {
      children += 1;
      return child(...args);
    }) as typeof logger.child;
    const app = Fastify({
      loggerInstance: logger as FastifyBaseLogger,
      disableRequestLogging: true,
      childLoggerFactory: deferredRequestLogger,
      genReqId: () => 'req-7',
    });
    app.get('/quiet', (req, reply) => {
      assert.equal(req.log.level, 'info');
      void reply.send('ok');
    });
    app.get('/loud', (req, reply) => {
      req.log.warn({ what: 'thing' }, 'something to say');
      req.log.debug('not at info');
      void reply.send('ok');
    });
    await app.ready();
    // What Fastify made while starting is not a request's.
    children = 0;
    assert.equal((await app.inject({ url: '/quiet' })).statusCode, 200);
    assert.equal(children, 0, 'a request that logs nothing makes no child');
    assert.equal((await app.inject({ url: '/loud' })).statusCode, 200);
    assert.equal(children, 1);
    await app.close();
    const said = lines.find((l) => l.msg === 'something to say');
    assert.ok(said, JSON.stringify(lines));
    assert.equal(said.reqId, 'req-7');
    assert.equal(said.what, 'thing');
    assert.equal(said.level, 40);
    assert.equal(
      lines.some((l) => l.msg === 'not at info'),
      false,
    );
  });
});
