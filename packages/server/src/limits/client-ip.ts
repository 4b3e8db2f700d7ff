/**
 * The client's IP, the one rule for the socket path and the HTTP API: the TCP peer's address,
 * unless that peer is a trusted proxy; then `X-Forwarded-For` is read from the right, skipping
 * trusted proxies, and the first address that is not one is the client. Left of it, anything may
 * be forged by the client, so it is never read.
 */
import type http from 'node:http';
import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** Addresses (`10.0.0.7`, `::1`) and CIDR ranges (`10.0.0.0/8`, `fd00::/8`); a TypeError names a bad one. */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [address = '', bits, extra] = entry.trim().split('/');
      const family = isIP(address);
      const prefix = bits === undefined ? undefined : Number(bits);
      const max = family === 4 ? 32 : 128;
      if (
        family === 0 ||
        extra !== undefined ||
        (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= max))
      ) {
        throw new TypeError(`trustedProxies: '${entry}' is not an IP address or CIDR range`);
      }
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, prefix, type);
    }
  }

  /** True when `address` (v4, v6 or v4-mapped v6) is a trusted proxy. */
  trusts(address: string): boolean {
    if (this.empty) return false;
    const plain = unmapped(address);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** A TCP peer's address as a client key (`::ffff:` taken off a v4 address). */
  peerIpOf(address: string | undefined): string {
    return unmapped(address ?? 'unknown');
  }

  /** The client IP of a request (upgrade or plain HTTP). */
  clientIpOf(req: http.IncomingMessage): string {
    const peer = this.peerIpOf(req.socket.remoteAddress);
    if (!this.trusts(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((hop) => unmapped(hop.trim()))
      .filter((hop) => hop.length > 0);
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) break; // garbage from further left: stop at the last address we could read
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, so that one client has one key whatever the socket's family. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
