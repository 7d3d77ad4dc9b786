/** Handlers for `/v2/<name>/manifests/<reference>` and `/v2/<name>/referrers/<digest>`. */
import { BerthError, MAX_MANIFEST_BYTES, OCI_INDEX, parseDigest } from '../oci/index.js';
import type { V2Context } from './context.js';
import { readLimitedBody } from './request-bits.js';
import type { V2Route } from './v2-paths.js';

type Manifest = Extract<V2Route, { kind: 'manifest' }>;
type Referrers = Extract<V2Route, { kind: 'referrers' }>;

/** GET/HEAD: the manifest bytes exactly as pushed, with their media type and digest. */
export async function getManifest(ctx: V2Context<Manifest>, headOnly: boolean): Promise<void> {
  const record = await ctx.registry.pulling.pull(ctx.route.name, ctx.route.reference, {
    accept: ctx.req.headers.accept,
    headOnly,
    context: ctx.change,
  });
  ctx.reply
    .code(200)
    .header('Content-Type', record.mediaType)
    .header('Content-Length', String(record.size))
    .header('Docker-Content-Digest', record.digest)
    .header('ETag', `"${record.digest}"`);
  // A mirrored repository says how fresh its copy is (stale: the upstream could not be asked).
  if (record.cache) ctx.reply.header('X-Berth-Cache', record.cache);
  // The signed-tags requirement in warn mode: served, with the reason as an RFC 7234 warning.
  if (record.warning)
    ctx.reply.header(
      'Warning',
      `299 - "${record.warning.replace(/["\\\r\n]/g, ' ').slice(0, 500)}"`,
    );
  if (headOnly) return ctx.reply.send();
  return ctx.reply.send(record.content);
}

/** PUT: store a manifest under a tag or its digest. */
export async function putManifest(ctx: V2Context<Manifest>): Promise<void> {
  const { name, reference } = ctx.route;
  const body = await readLimitedBody(
    ctx.req.raw,
    MAX_MANIFEST_BYTES,
    () =>
      new BerthError('MANIFEST_TOO_LARGE', `manifests may be at most ${MAX_MANIFEST_BYTES} bytes`),
  );
  const algorithm = ctx.query.get('digest-algorithm') ?? undefined;
  if (algorithm !== undefined && algorithm !== 'sha256' && algorithm !== 'sha512')
    throw new BerthError(
      'UNSUPPORTED',
      `digest-algorithm ${algorithm.slice(0, 50)} is not supported`,
    );
  const pushed = await ctx.registry.manifests.put(
    name,
    reference,
    body,
    ctx.req.headers['content-type'],
    ctx.actor ?? null,
    { tags: ctx.query.getAll('tag'), algorithm, context: ctx.change },
  );
  ctx.reply
    .code(201)
    .header('Location', `/v2/${name}/manifests/${pushed.digest}`)
    .header('Docker-Content-Digest', pushed.digest)
    .header('Content-Length', '0');
  if (pushed.subject) ctx.reply.header('OCI-Subject', pushed.subject);
  // The spec's `?tag=`: every tag applied is named back, one header each.
  if (ctx.query.getAll('tag').length > 0) ctx.reply.header('OCI-Tag', pushed.tags);
  return ctx.reply.send();
}

/** DELETE: a tag, or a manifest by digest. */
export async function deleteManifest(ctx: V2Context<Manifest>): Promise<void> {
  await ctx.registry.manifests.delete(ctx.route.name, ctx.route.reference, ctx.change);
  ctx.reply.code(202).header('Content-Length', '0').send();
}

/** GET: the referrers of a manifest as an OCI index, filtered by `artifactType`. */
export async function getReferrers(ctx: V2Context<Referrers>): Promise<void> {
  const digest = parseDigest(ctx.route.digest).value;
  const artifactType = ctx.query.get('artifactType') ?? undefined;
  const { index, filtered } = await ctx.registry.manifests.referrers(
    ctx.route.name,
    digest,
    artifactType,
  );
  if (filtered) ctx.reply.header('OCI-Filters-Applied', 'artifactType');
  // A Buffer, so Fastify adds no charset to the exact media type clients compare against.
  ctx.reply
    .code(200)
    .header('Content-Type', OCI_INDEX)
    .send(Buffer.from(JSON.stringify(index)));
}
