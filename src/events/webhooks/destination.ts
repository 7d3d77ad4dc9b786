/**
 * Where a webhook may deliver: http(s) URLs only, without credentials in them, and never to
 * loopback, private, link-local, unique-local, carrier-grade NAT, multicast or unspecified
 * addresses (every address the host resolves to is checked) unless an administrator allows it —
 * private networks in general, or listed CIDRs and host names.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { addressMatcher, plainAddress } from '../../kit/index.js';

/** What an administrator allows beyond the public internet. */
export interface DestinationRules {
  allowPrivateNetworks: boolean;
  /** CIDRs (`10.1.0.0/16`, `127.0.0.1`) and host names (`hooks.internal`) allowed anyway. */
  allow: string[];
}

/** Resolves a host name to every address it has. */
export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

let notPublic: ((address: string) => boolean) | undefined;

/** Addresses that are not public (built on first use: it costs start-up time). */
function notPublicAddress(address: string): boolean {
  notPublic ??= addressMatcher([
    '0.0.0.0/8',
    '10.0.0.0/8',
    '100.64.0.0/10',
    '127.0.0.0/8',
    '169.254.0.0/16',
    '172.16.0.0/12',
    '192.0.0.0/24',
    '192.168.0.0/16',
    '198.18.0.0/15',
    '224.0.0.0/4',
    '240.0.0.0/4',
    '::/128',
    '::1/128',
    'fc00::/7',
    'fe80::/10',
    'ff00::/8',
  ]);
  return notPublic(address);
}

/**
 * Why `url` may not be a webhook destination under `rules`, or undefined when it may. Host names
 * are resolved with `resolve`; a name that does not resolve is refused too.
 */
export async function destinationProblem(
  url: string,
  rules: DestinationRules,
  resolve: Resolver = systemResolver,
): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'only http and https';
  if (parsed.username || parsed.password) return 'credentials do not belong in the URL';
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (rules.allowPrivateNetworks || rules.allow.includes(host)) return undefined;
  const allowed = addressMatcher(rules.allow.filter((a) => isIP(a.split('/')[0]!) !== 0));
  let addresses: string[];
  try {
    addresses = isIP(host) !== 0 ? [host] : await resolve(host);
  } catch {
    return `${host} does not resolve`;
  }
  if (addresses.length === 0) return `${host} does not resolve`;
  const blocked = addresses.find((a) => notPublicAddress(plainAddress(a)) && !allowed(a));
  return blocked === undefined
    ? undefined
    : `${host} is ${blocked}, a loopback or private address; an administrator may allow it`;
}

/** A `lookup` for http(s).request that refuses host names resolving to addresses not allowed. */
export function guardedLookup(rules: DestinationRules): LookupFunction {
  const allowed = addressMatcher(rules.allow.filter((a) => isIP(a.split('/')[0]!) !== 0));
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses;
      const open = rules.allowPrivateNetworks || rules.allow.includes(hostname.toLowerCase());
      const blocked = open
        ? undefined
        : list.find((a) => notPublicAddress(plainAddress(a.address)) && !allowed(a.address));
      if (blocked || list.length === 0) {
        const why = blocked ? `${hostname} is ${blocked.address}, a private address` : 'no address';
        return callback(Object.assign(new Error(why), { code: 'EDESTINATION' }), '', 4);
      }
      if (options.all) (callback as AllCallback)(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

type AllCallback = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;
