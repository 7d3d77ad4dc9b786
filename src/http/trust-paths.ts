/** Parsing the Notary v1 paths under `/v2/<gun>/_trust/` (GUNs hold `:` and `/`). */
import { BerthError } from '../oci/index.js';

/** A recognised trust route. */
export type TrustRoute =
  | { kind: 'changefeed'; gun?: string }
  | { kind: 'repository'; gun: string }
  | { kind: 'current'; gun: string; role: string }
  | { kind: 'checksum'; gun: string; role: string; checksum: string }
  | { kind: 'version'; gun: string; role: string; version: number }
  | { kind: 'key'; gun: string; role: 'snapshot' | 'timestamp' };

const ROLE = 'root|targets(?:/[^/\\s]+)*|snapshot|timestamp';
const CHECKSUM = new RegExp(
  `^(${ROLE})\\.([a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})\\.json$`,
);
const VERSION = new RegExp(`^([1-9]*[0-9]+)\\.(${ROLE})\\.json$`);
const CURRENT = new RegExp(`^(${ROLE})\\.json$`);
const KEY = /^(snapshot|timestamp)\.key$/;

/** Whether `pathname` is under the trust API. */
export function isTrustPath(pathname: string): boolean {
  return pathname.includes('/_trust/');
}

function notFound(): BerthError {
  return new BerthError('METADATA_NOT_FOUND');
}

/** The trust route of `pathname` (no query); METADATA_NOT_FOUND for anything else. */
export function parseTrustPath(pathname: string): TrustRoute {
  if (pathname === '/v2/_trust/changefeed') return { kind: 'changefeed' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    throw notFound();
  }
  const at = decoded.indexOf('/_trust/');
  if (!decoded.startsWith('/v2/') || at <= 4) throw notFound();
  const gun = decoded.slice(4, at);
  if (gun.includes('*')) throw notFound();
  const rest = decoded.slice(at + '/_trust/'.length);
  if (rest === 'changefeed') return { kind: 'changefeed', gun };
  if (!rest.startsWith('tuf/')) throw notFound();
  const file = rest.slice('tuf/'.length);
  if (file === '') return { kind: 'repository', gun };
  let m = CHECKSUM.exec(file);
  if (m) return { kind: 'checksum', gun, role: m[1]!, checksum: m[2]!.toLowerCase() };
  m = VERSION.exec(file);
  if (m) return { kind: 'version', gun, role: m[2]!, version: Number(m[1]) };
  m = CURRENT.exec(file);
  if (m) return { kind: 'current', gun, role: m[1]! };
  m = KEY.exec(file);
  if (m) return { kind: 'key', gun, role: m[1] as 'snapshot' | 'timestamp' };
  throw notFound();
}
