// Where a peer sits on the network, for per-address limits: its IP, and its /24 (IPv4) or /48
// (IPv6). Identities cost only PoW, addresses cost real money: limits per IP and per subnet keep
// one host (or one rented block) from filling the routing table or the value store with identities.
import { ipToBytes } from '../../shared/address.ts';

export interface NetGroup {
  ip: string;
  subnet: string;
}

/** The groups of a host, or undefined for loopback (a testnet runs every relay on 127.0.0.1). */
export function netGroup(host: string): NetGroup | undefined {
  if (host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.')) return undefined;
  let b: Uint8Array;
  try {
    b = ipToBytes(host);
  } catch {
    return { ip: host, subnet: host };
  }
  // An IPv4-mapped IPv6 address is the IPv4 address.
  if (b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    b = b.subarray(12);
  const hex = Buffer.from(b).toString('hex');
  return { ip: hex, subnet: b.length === 4 ? hex.slice(0, 6) : hex.slice(0, 12) };
}
