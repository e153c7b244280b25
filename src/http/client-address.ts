/**
 * Who the client is, for the limits that are kept per client (SPEC section 8): the socket's peer,
 * or, when that peer is a trusted proxy, the right-most X-Forwarded-For entry that is not one (the
 * entries to its left are whatever the client chose to send). The key a client is counted under
 * is its IPv4 address, or its IPv6 /64: one host can take any address of its /64.
 */
import { BlockList, isIP } from 'node:net';

export interface ClientResolver {
  /** The counting key of the client behind `socketAddress` (and `forwardedFor`, the joined X-Forwarded-For). */
  clientOf(socketAddress: string, forwardedFor: string | undefined): string;
}

function unmapped(address: string): string {
  // An IPv4 peer of a dual-stack socket: "::ffff:192.0.2.1".
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** The counting key of one address: IPv4 as is, IPv6 by its /64. */
export function clientKey(address: string): string {
  const plain = unmapped(address.trim());
  if (isIP(plain) !== 6) return plain;
  const [head, tail] = plain.split('::');
  const left = head === '' || head === undefined ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':')}::/64`;
}

export function createClientResolver(trustedProxies: readonly string[]): ClientResolver {
  if (trustedProxies.length === 0) return { clientOf: (socketAddress) => clientKey(socketAddress) };
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address, bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(bits), family);
  }
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
  return {
    clientOf(socketAddress, forwardedFor) {
      let client = unmapped(socketAddress);
      if (!isTrusted(client) || forwardedFor === undefined) return clientKey(client);
      const hops = forwardedFor.split(',');
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = unmapped(hops[i].trim());
        if (isIP(hop) === 0) break; // not an address: the chain cannot be followed further
        client = hop;
        if (!isTrusted(hop)) break;
      }
      return clientKey(client);
    },
  };
}
