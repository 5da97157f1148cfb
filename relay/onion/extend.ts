// EXTEND relay message: ip version u8 (4 or 6) | ip (4/16) | onion port u16 | identity 32 | X 32.
// EXTENDED: Y 32 | auth 32 | cert length u16 | cert (the next hop's onion key cert, signed by it).
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
