/** Handlers for `/v2/<name>/blobs/uploads/…`. */
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { readAlone } from '../kit/index.js';
import { BerthError } from '../oci/index.js';
import type { UploadState } from '../registry/index.js';
import { uploadLocation, uploadRangeHeader, type V2Context } from './context.js';
import { contentLength, hasBody, parseContentRange } from './request-bits.js';
import type { V2Route } from './v2-paths.js';

type Uploads = Extract<V2Route, { kind: 'uploads' }>;
type Upload = Extract<V2Route, { kind: 'upload' }>;

/**
 * The request's body for the upload service, which alone reads it: its chunks are freed as soon
 * as they are stored (kit/chunk-release.ts). Only a body read from a connection: Node's HTTP
 * parser copies each chunk into a buffer of its own, where an injected request (Fastify's
 * `inject`) hands over the caller's own buffers.
 */
function uploadBody(req: IncomingMessage): IncomingMessage {
  return req.socket instanceof Socket ? readAlone(req) : req;
}

function answerProgress(ctx: V2Context, state: UploadState, status: number): void {
  ctx.reply
    .code(status)
    .header('Location', uploadLocation(state.repository, state.id))
    .header('Range', uploadRangeHeader(state.size))
    .header('Docker-Upload-UUID', state.id)
    .header('Content-Length', '0')
    .send();
}

function answerBlobCreated(ctx: V2Context, name: string, digest: string): void {
  ctx.reply
    .code(201)
    .header('Location', `/v2/${name}/blobs/${digest}`)
    .header('Docker-Content-Digest', digest)
    .header('Content-Length', '0')
    .send();
}

/** POST: start an upload, upload monolithically (`?digest=`) or mount (`?mount=&from=`). */
export async function postUploads(ctx: V2Context<Uploads>): Promise<void> {
  const { name } = ctx.route;
  const mount = ctx.query.get('mount');
  if (mount) {
    const from = ctx.query.get('from') ?? undefined;
    if (await ctx.registry.blobs.mount(name, mount, from, ctx.canRead, ctx.change))
      return answerBlobCreated(ctx, name, mount);
  }
  const digest = ctx.query.get('digest');
  if (digest !== null && !mount) {
    const blob = await ctx.registry.uploads.monolithic(
      name,
      digest,
      uploadBody(ctx.req.raw),
      contentLength(ctx.req.raw),
      ctx.change,
    );
    return answerBlobCreated(ctx, name, blob.digest);
  }
  const state = await ctx.registry.uploads.start(name, ctx.change);
  answerProgress(ctx, state, 202);
}

/** PATCH: append a chunk (with Content-Range) or stream the rest of the blob. */
export async function patchUpload(ctx: V2Context<Upload>): Promise<void> {
  const { name, id } = ctx.route;
  const range = parseContentRange(ctx.req.headers['content-range']);
  const state = await ctx.registry.uploads.append(
    name,
    id,
    uploadBody(ctx.req.raw),
    range,
    contentLength(ctx.req.raw),
  );
  answerProgress(ctx, state, 202);
}

/** PUT `?digest=`: complete the upload, with or without a final chunk. */
export async function putUpload(ctx: V2Context<Upload>): Promise<void> {
  const { name, id } = ctx.route;
  const digest = ctx.query.get('digest');
  if (!digest)
    throw new BerthError(
      'DIGEST_INVALID',
      'the digest query parameter is required to complete an upload',
    );
  const body = hasBody(ctx.req.raw) ? uploadBody(ctx.req.raw) : undefined;
  const range = body ? parseContentRange(ctx.req.headers['content-range']) : undefined;
  const blob = await ctx.registry.uploads.finish(
    name,
    id,
    digest,
    body,
    body ? contentLength(ctx.req.raw) : undefined,
    range,
    ctx.change,
  );
  answerBlobCreated(ctx, name, blob.digest);
}

/** GET: the upload's progress. */
export async function getUpload(ctx: V2Context<Upload>): Promise<void> {
  const state = await ctx.registry.uploads.status(ctx.route.name, ctx.route.id);
  answerProgress(ctx, state, 204);
}

/** DELETE: cancel the upload. */
export async function deleteUpload(ctx: V2Context<Upload>): Promise<void> {
  await ctx.registry.uploads.cancel(ctx.route.name, ctx.route.id);
  ctx.reply.code(204).send();
}
