/** Matching IP addresses against a list of addresses and CIDRs. */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** An address without the IPv4-in-IPv6 wrapping (`::ffff:10.0.0.1` → `10.0.0.1`). */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** The address and prefix length of `cidr` (`10.0.0.0/8`, `::1`), or undefined when malformed. */
function parseCidr(
  cidr: string,
): { address: string; prefix?: number; type: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefix] = cidr.split('/');
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!type) return undefined;
  if (prefix === undefined) return { address, type };
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (type === 'ipv4' ? 32 : 128)) return undefined;
  return { address, prefix: Number(prefix), type };
}

/** Whether `value` is an IP address or a CIDR. */
export function isAddressOrCidr(value: string): boolean {
  return parseCidr(value) !== undefined;
}

/** A test for addresses in `cidrs` (`10.0.0.0/8`, `::1`, `192.0.2.7`); throws on a malformed entry. */
export function addressMatcher(cidrs: string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (!parsed) throw new Error(`${cidr} is not an address or CIDR`);
    if (parsed.prefix === undefined) list.addAddress(parsed.address, parsed.type);
    else list.addSubnet(parsed.address, parsed.prefix, parsed.type);
  }
  return (address) => {
    const plain = plainAddress(address);
    const type = isIPv4(plain) ? 'ipv4' : isIPv6(plain) ? 'ipv6' : undefined;
    return type !== undefined && list.check(plain, type);
  };
}
