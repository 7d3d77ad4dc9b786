/** What every registry API handler is given. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChangeContext, Registry } from '../registry/index.js';
import type { V2Route } from './v2-paths.js';

/** A request to the registry API, parsed. */
export interface V2Context<R extends V2Route = V2Route> {
  req: FastifyRequest;
  reply: FastifyReply;
  route: R;
  query: URLSearchParams;
  registry: Registry;
  /** Whether the caller may read another repository (for cross-repository mounts). */
  canRead: (repository: string) => boolean | Promise<boolean>;
  /** The subset of repository names the caller may see (for the catalog). */
  visible: (repositories: string[]) => Promise<string[]>;
  /** Who makes a change and from where, recorded with its event. */
  change: ChangeContext;
  /** The signed-in caller's name, recorded as the pusher of tags. */
  actor?: string | null;
}

/** A handler of one route kind. */
export type V2Handler<R extends V2Route = V2Route> = (ctx: V2Context<R>) => Promise<void>;

/** `0-<last byte>` as distribution reports upload progress (`0-0` when empty). */
export function uploadRangeHeader(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}

/** The Location of an upload session. */
export function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}
