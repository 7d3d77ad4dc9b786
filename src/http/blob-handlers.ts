/** Handlers for `/v2/<name>/blobs/<digest>`. */
import type { OutgoingHttpHeaders } from 'node:http';
import { BerthError } from '../oci/index.js';
import type { ByteRange } from '../registry/index.js';
import type { V2Context } from './context.js';
import { openForSending, sendFileRange } from './file-sender.js';
import { parseRange } from './request-bits.js';
import type { V2Route } from './v2-paths.js';

type Blob = Extract<V2Route, { kind: 'blob' }>;

/** The headers every blob answer carries. */
function describeBlob(reply: V2Context['reply'], digest: string): V2Context['reply'] {
  return reply
    .header('Content-Type', 'application/octet-stream')
    .header('Docker-Content-Digest', digest)
    .header('ETag', `"${digest}"`)
    .header('Accept-Ranges', 'bytes');
}

/** GET/HEAD: the blob's bytes (or a range of them) or just its headers. */
export async function getBlob(ctx: V2Context<Blob>, headOnly: boolean): Promise<void> {
  const { name, digest } = ctx.route;
  const rangeHeader = ctx.req.headers.range;
  const { reply } = ctx;
  if (headOnly) {
    const blob = await ctx.registry.blobs.stat(name, digest);
    describeBlob(reply.code(200), blob.digest).header('Content-Length', String(blob.size)).send();
    return;
  }
  const blob = await ctx.registry.blobs.open(name, digest, (size): ByteRange | undefined => {
    const range = parseRange(rangeHeader, size);
    if (range !== 'unsatisfiable') return range;
    reply.header('Content-Range', `bytes */${size}`);
    throw new BerthError(
      'RANGE_INVALID',
      `range ${rangeHeader} is outside the blob's ${size} bytes`,
    );
  });
  if (!blob.range) {
    const url = await blob.redirect();
    if (url)
      return reply
        .code(307)
        .header('Location', url)
        .header('Docker-Content-Digest', blob.digest)
        .send();
  }
  // Content addressed by digest never changes.
  describeBlob(reply, blob.digest).header('Cache-Control', 'max-age=31536000');
  if (blob.range) {
    reply
      .code(206)
      .header('Content-Range', `bytes ${blob.range.start}-${blob.range.end}/${blob.size}`)
      .header('Content-Length', String(blob.range.end - blob.range.start + 1));
  } else {
    reply.code(200).header('Content-Length', String(blob.size));
  }
  if (blob.bytes) {
    ctx.registry.parts.bytes.sent(blob.bytes.length);
    return reply.send(blob.bytes);
  }
  if (!blob.file) return reply.send(blob.read());
  const { start, end } = blob.range ?? { start: 0, end: blob.size - 1 };
  if (end < start) return reply.send('');
  // Opened before anything is answered: a file that vanished is a clear 404, not an empty 200.
  const handle = await openForSending(blob.file);
  if (!handle) {
    for (const header of ['Content-Length', 'Content-Range', 'Cache-Control', 'ETag'])
      reply.removeHeader(header);
    throw new BerthError('BLOB_UNKNOWN', `the data of blob ${blob.digest} is missing`, {
      digest: blob.digest,
    });
  }
  reply.hijack();
  reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  try {
    ctx.registry.parts.bytes.sent(
      await sendFileRange(reply.raw, handle, start, end, { file: blob.file }),
    );
  } catch (err) {
    ctx.req.log.error({ err, digest: blob.digest }, 'blob download failed');
    reply.raw.destroy(err as Error);
  }
}

/** DELETE: remove the blob from the repository. */
export async function deleteBlob(ctx: V2Context<Blob>): Promise<void> {
  await ctx.registry.blobs.delete(ctx.route.name, ctx.route.digest, ctx.change);
  ctx.reply.code(202).header('Content-Length', '0').send();
}
