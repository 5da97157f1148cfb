// EXTEND relay message: ip version u8 (4 or 6) | ip (4/16) | onion port u16 | identity 32 | X 32.
// EXTENDED: Y 32 | auth 32 | cert length u16 | cert (the next hop's onion key cert, signed by it).
import { BlockList, isIP } from 'node:net';
import { bytesToIp, ipToBytes, isIPv6 } from '../../shared/address.ts';
import type { PeerAddress } from './links.ts';

export interface ExtendRequest {
  peer: PeerAddress;
  X: Uint8Array;
}

export function encodeExtend(
  peer: { host: string; port: number; identity: Uint8Array },
  X: Uint8Array,
): Uint8Array {
  const ip = ipToBytes(peer.host);
  const out = new Uint8Array(1 + ip.length + 2 + 32 + 32);
  out[0] = isIPv6(peer.host) ? 6 : 4;
  out.set(ip, 1);
  out[1 + ip.length] = peer.port >> 8;
  out[2 + ip.length] = peer.port & 0xff;
  out.set(peer.identity, 3 + ip.length);
  out.set(X, 35 + ip.length);
  return out;
}

export function decodeExtend(b: Uint8Array): ExtendRequest | null {
  const ipLen = b[0] === 4 ? 4 : b[0] === 6 ? 16 : 0;
  if (!ipLen || b.length !== 1 + ipLen + 2 + 64) return null;
  const port = (b[1 + ipLen]! << 8) | b[2 + ipLen]!;
  if (port === 0) return null;
  const identity = b.slice(3 + ipLen, 35 + ipLen);
  return {
    peer: {
      host: bytesToIp(b.subarray(1, 1 + ipLen)),
      port,
      identity,
      idHex: Buffer.from(identity).toString('hex'),
    },
    X: b.slice(35 + ipLen),
  };
}

export function decodeExtended(b: Uint8Array): { Y: Uint8Array; auth: Uint8Array; cert: Uint8Array } | null {
  if (b.length < 66) return null;
  const len = (b[64]! << 8) | b[65]!;
  if (b.length !== 66 + len) return null;
  return { Y: b.slice(0, 32), auth: b.slice(32, 64), cert: b.slice(66) };
}

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 3], // multicast and reserved, up to 255.255.255.255
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127], // :: and ::1
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/**
 * Loopback, private, link-local, multicast and unspecified addresses (IPv4-mapped IPv6 included). A
 * relay on a public address refuses to EXTEND to these: otherwise anyone could make it connect into
 * its own machine or network (and learn from the timing which ports are open). Names are not IPs: false.
 */
export function isPrivateAddress(host: string): boolean {
  const v = isIP(host);
  if (v === 4) return PRIVATE.check(host, 'ipv4');
  if (v !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped ? PRIVATE.check(mapped[1]!, 'ipv4') : PRIVATE.check(host, 'ipv6');
}
