/** Turning any error into a registry API response: the only place errors become HTTP. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { databaseFull } from '../manage/index.js';
import { BerthError } from '../oci/index.js';
import { lingerOnClose } from './lingering-close.js';
import { noteError } from './request-notes.js';

function fromFramework(err: FastifyError): BerthError | undefined {
  if (databaseFull(err))
    return new BerthError(
      'STORAGE_FULL',
      "the registry's database disk is full; free space and retry",
    );
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new BerthError('SIZE_INVALID', err.message);
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return new BerthError('INVALID_REQUEST', err.message);
  if (err instanceof SyntaxError)
    return new BerthError('INVALID_REQUEST', `malformed JSON: ${err.message}`);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
    return new BerthError('UNSUPPORTED', err.message);
  return undefined;
}

/** Fastify's error handler: BerthErrors answer with their code; anything else is logged and 500. */
export function handleError(
  err: FastifyError | Error,
  req: FastifyRequest,
  reply: FastifyReply,
): void {
  let berth = err instanceof BerthError ? err : fromFramework(err as FastifyError);
  if (!berth) {
    req.log.error({ err }, 'unexpected error');
    berth = new BerthError('INTERNAL', 'internal server error');
  } else if (berth.status >= 500) {
    req.log.error({ err }, berth.message);
  }
  noteError(req, berth);
  if (reply.sent || reply.raw.headersSent) {
    reply.raw.destroy(err);
    return;
  }
  // A body left unread would be taken for the next request: close the connection after answering,
  // reading the rest meanwhile so the close does not reset the answer away.
  if (!req.raw.complete) {
    reply.header('Connection', 'close');
    lingerOnClose(req.raw);
  }
  const retryAfter = (berth.detail as { retryAfter?: number } | undefined)?.retryAfter;
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  const management = req.url.startsWith('/api/') || req.url.startsWith('/token');
  if (!management) reply.header('Docker-Distribution-Api-Version', 'registry/2.0');
  const body = management
    ? { errors: [{ code: berth.code, message: berth.message, detail: berth.detail ?? {} }] }
    : berth.toBody();
  reply.code(berth.status).header('Content-Type', 'application/json').send(JSON.stringify(body));
}
