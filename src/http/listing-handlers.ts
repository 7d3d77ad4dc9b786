/** Handlers for tag listing and the catalog, paged with `n`, `last` and a `Link` header. */
import type { V2Context } from './context.js';
import { parsePageSize } from './request-bits.js';
import type { V2Route } from './v2-paths.js';

type Tags = Extract<V2Route, { kind: 'tags' }>;

/** The most entries one page returns, whatever `n` asks for. */
export const MAX_PAGE = 10_000;

async function page(
  ctx: V2Context,
  path: string,
  fetch: (limit: number, last?: string) => Promise<string[]>,
): Promise<string[]> {
  const requested = parsePageSize(ctx.query, MAX_PAGE);
  const limit = requested ?? MAX_PAGE;
  const last = ctx.query.get('last') ?? undefined;
  if (limit === 0) return [];
  const rows = await fetch(limit + 1, last);
  const entries = rows.slice(0, limit);
  if (rows.length > limit) {
    const next = new URLSearchParams({ n: String(limit), last: entries[entries.length - 1]! });
    ctx.reply.header('Link', `<${path}?${next.toString()}>; rel="next"`);
  }
  return entries;
}

/** GET `/v2/<name>/tags/list`. */
export async function listTags(ctx: V2Context<Tags>): Promise<void> {
  const { name } = ctx.route;
  const tags = await page(ctx, `/v2/${name}/tags/list`, (limit, last) =>
    ctx.registry.manifests.tags(name, limit, last),
  );
  ctx.reply
    .code(200)
    .header('Content-Type', 'application/json')
    .send(JSON.stringify({ name, tags }));
}

/** Up to `limit` repository names after `last` that the caller may see. */
async function visiblePage(ctx: V2Context, limit: number, last?: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = last;
  for (;;) {
    const batch = await ctx.registry.manifests.catalog(Math.max(limit, 100), cursor);
    out.push(...(await ctx.visible(batch)));
    if (out.length >= limit || batch.length < Math.max(limit, 100)) return out.slice(0, limit);
    cursor = batch[batch.length - 1];
  }
}

/** GET `/v2/_catalog`: only what the caller may see. */
export async function listCatalog(ctx: V2Context): Promise<void> {
  const repositories = await page(ctx, '/v2/_catalog', (limit, last) =>
    visiblePage(ctx, limit, last),
  );
  ctx.reply
    .code(200)
    .header('Content-Type', 'application/json')
    .send(JSON.stringify({ repositories }));
}
