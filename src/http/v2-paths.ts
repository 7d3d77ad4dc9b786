/** Parsing `/v2/…` paths from the right, since repository names contain slashes. */
import { BerthError, assertName } from '../oci/index.js';

/** A recognised registry API route and its parameters. */
export type V2Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string };

const PATTERNS: [RegExp, (m: RegExpExecArray) => V2Route][] = [
  [/^(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1]!, reference: m[2]! })],
  [/^(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1]! })],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1]!, id: m[2]! })],
  [/^(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1]!, digest: m[2]! })],
  [/^(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1]! })],
  [/^(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1]!, digest: m[2]! })],
];

function decode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BerthError('NAME_INVALID', 'malformed percent-encoding in the path');
  }
}

/** The route a `/v2/…` path (without query) names; the repository name is validated. */
export function parseV2Path(pathname: string): V2Route {
  if (pathname === '/v2' || pathname === '/v2/') return { kind: 'base' };
  const rest = pathname.slice('/v2/'.length);
  if (rest === '_catalog') return { kind: 'catalog' };
  for (const [pattern, build] of PATTERNS) {
    const m = pattern.exec(rest);
    if (!m) continue;
    const route = build(m);
    if ('name' in route) route.name = assertName(decode(route.name));
    if ('reference' in route) route.reference = decode(route.reference);
    if ('digest' in route) route.digest = decode(route.digest);
    if ('id' in route) route.id = decode(route.id);
    return route;
  }
  throw new BerthError('NOT_FOUND', `no registry API route at ${pathname.slice(0, 200)}`);
}
