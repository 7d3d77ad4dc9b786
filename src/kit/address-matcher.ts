/** Matching IP addresses against a list of addresses and CIDRs. */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** An address without the IPv4-in-IPv6 wrapping (`::ffff:10.0.0.1` → `10.0.0.1`). */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** A test for addresses in `cidrs` (`10.0.0.0/8`, `::1`, `192.0.2.7`); throws on a malformed entry. */
export function addressMatcher(cidrs: string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/');
    const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!type) throw new Error(`${cidr} is not an address or CIDR`);
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return (address) => {
    const plain = plainAddress(address);
    const type = isIPv4(plain) ? 'ipv4' : isIPv6(plain) ? 'ipv6' : undefined;
    return type !== undefined && list.check(plain, type);
  };
}
