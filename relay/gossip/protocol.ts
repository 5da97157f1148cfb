// Gossip's P2P messages, carried as link frames (relay/p2p). Byte layouts: docs/gossip-protocol.md.
// Every decoder checks every length against what remains and caps every count.
import { AddressError, bytesToIp, type HostPort, ipToBytes } from '../../shared/address.ts';
import { LinkViolation } from '../p2p/index.ts';

export const GossipType = {
  PUSH: 1100,
  DIGEST: 1101,
  PEERS_REQUEST: 1102,
  PEERS: 1103,
  IHAVE: 1104,
  IWANT: 1105,
} as const;
export const PUSH_FIXED = 4;
export const FLAG_PULLED = 1;
export const ID_SIZE = 32;
export const MAX_DIGEST_TYPES = 256;
export const MAX_DIGEST_IDS = 1024;
export const MAX_PEERS = 32;
/** Most entries of one IHAVE or IWANT. */
export const MAX_LAZY_IDS = 256;

export interface Push {
  ttl: number;
  pulled: boolean;
  dataType: number;
  data: Uint8Array;
}

export function encodePush(p: Push): Uint8Array {
  const out = new Uint8Array(PUSH_FIXED + p.data.length);
  out[0] = p.ttl;
  out[1] = p.pulled ? FLAG_PULLED : 0;
  out[2] = p.dataType >> 8;
  out[3] = p.dataType & 0xff;
  out.set(p.data, PUSH_FIXED);
  return out;
}

export function decodePush(b: Uint8Array): Push {
  if (b.length < PUSH_FIXED) throw new LinkViolation(`PUSH of ${b.length} bytes`);
  if (b[1]! & ~FLAG_PULLED) throw new LinkViolation('PUSH with unknown flags');
  return {
    ttl: b[0]!,
    pulled: (b[1]! & FLAG_PULLED) !== 0,
    dataType: (b[2]! << 8) | b[3]!,
    data: b.slice(PUSH_FIXED),
  };
}

export interface Digest {
  types: number[];
  ids: Uint8Array[];
}

export function encodeDigest(d: Digest): Uint8Array {
  const types = d.types.slice(0, MAX_DIGEST_TYPES);
  const ids = d.ids.slice(0, MAX_DIGEST_IDS);
  const out = new Uint8Array(4 + 2 * types.length + ID_SIZE * ids.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, types.length);
  for (const [i, t] of types.entries()) v.setUint16(2 + 2 * i, t);
  const at = 2 + 2 * types.length;
  v.setUint16(at, ids.length);
  for (const [i, id] of ids.entries()) out.set(id, at + 2 + ID_SIZE * i);
  return out;
}

export function decodeDigest(b: Uint8Array): Digest {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  if (b.length < 4) throw new LinkViolation('DIGEST truncated');
  const nTypes = v.getUint16(0);
  if (nTypes > MAX_DIGEST_TYPES) throw new LinkViolation(`DIGEST with ${nTypes} types`);
  const at = 2 + 2 * nTypes;
  if (b.length < at + 2) throw new LinkViolation('DIGEST truncated');
  const nIds = v.getUint16(at);
  if (nIds > MAX_DIGEST_IDS) throw new LinkViolation(`DIGEST with ${nIds} ids`);
  if (b.length !== at + 2 + ID_SIZE * nIds) throw new LinkViolation('DIGEST length mismatch');
  const types = Array.from({ length: nTypes }, (_, i) => v.getUint16(2 + 2 * i));
  const ids = Array.from({ length: nIds }, (_, i) =>
    b.slice(at + 2 + ID_SIZE * i, at + 2 + ID_SIZE * (i + 1)),
  );
  return { types, ids };
}

export interface PeerRecord {
  identity: Uint8Array;
  address: HostPort;
}

/**
 * Records whose host is not an IP literal are skipped: a bootstrapper configured by name
 * ("boot.example.org", "localhost") or an address with a zone ("fe80::1%eth0") has no wire form,
 * and a throw here would become a violation of the neighbour that asked (Link.dispatch).
 * At most MAX_PEERS of the encodable records are sent.
 */
export function encodePeers(peers: PeerRecord[]): Uint8Array {
  const ips: { p: PeerRecord; ip: Uint8Array }[] = [];
  for (const p of peers) {
    if (ips.length === MAX_PEERS) break;
    const ip = wireIp(p.address.host);
    // Port 0 too: decodePeers calls it a violation of the sender.
    if (ip && p.address.port > 0) ips.push({ p, ip });
  }
  const parts: Uint8Array[] = [new Uint8Array([ips.length])];
  for (const { p, ip } of ips) {
    const rec = new Uint8Array(ID_SIZE + 1 + ip.length + 2);
    rec.set(p.identity, 0);
    rec[ID_SIZE] = ip.length === 4 ? 4 : 6;
    rec.set(ip, ID_SIZE + 1);
    rec[ID_SIZE + 1 + ip.length] = p.address.port >> 8;
    rec[ID_SIZE + 2 + ip.length] = p.address.port & 0xff;
    parts.push(rec);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function wireIp(host: string): Uint8Array | undefined {
  try {
    return ipToBytes(host);
  } catch (e) {
    if (e instanceof AddressError) return undefined;
    throw e;
  }
}

export function decodePeers(b: Uint8Array): PeerRecord[] {
  if (b.length < 1) throw new LinkViolation('PEERS truncated');
  const n = b[0]!;
  if (n > MAX_PEERS) throw new LinkViolation(`PEERS with ${n} records`);
  const out: PeerRecord[] = [];
  let off = 1;
  for (let i = 0; i < n; i++) {
    if (b.length < off + ID_SIZE + 1) throw new LinkViolation('PEERS truncated');
    const family = b[off + ID_SIZE]!;
    if (family !== 4 && family !== 6) throw new LinkViolation(`PEERS address family ${family}`);
    const ipLen = family === 4 ? 4 : 16;
    const end = off + ID_SIZE + 1 + ipLen + 2;
    if (b.length < end) throw new LinkViolation('PEERS truncated');
    const port = (b[end - 2]! << 8) | b[end - 1]!;
    if (port === 0) throw new LinkViolation('PEERS record with port 0');
    const host = bytesToIp(b.subarray(off + ID_SIZE + 1, off + ID_SIZE + 1 + ipLen));
    out.push({ identity: b.slice(off, off + ID_SIZE), address: { host, port } });
    off = end;
  }
  if (off !== b.length) throw new LinkViolation('PEERS has trailing bytes');
  return out;
}

/** An IHAVE entry: an item the sender holds and did not push to us (lazy push). */
export interface Offer {
  dataType: number;
  id: Uint8Array;
}

/** IHAVE: n u16 (<= 256), then n x (data type u16, id 32). */
export function encodeIHave(offers: Offer[]): Uint8Array {
  const list = offers.slice(0, MAX_LAZY_IDS);
  const out = new Uint8Array(2 + (2 + ID_SIZE) * list.length);
  out[0] = list.length >> 8;
  out[1] = list.length & 0xff;
  for (const [i, o] of list.entries()) {
    const at = 2 + (2 + ID_SIZE) * i;
    out[at] = o.dataType >> 8;
    out[at + 1] = o.dataType & 0xff;
    out.set(o.id, at + 2);
  }
  return out;
}

export function decodeIHave(b: Uint8Array): Offer[] {
  const n = lazyCount(b, 'IHAVE', 2 + ID_SIZE);
  return Array.from({ length: n }, (_, i) => {
    const at = 2 + (2 + ID_SIZE) * i;
    return { dataType: (b[at]! << 8) | b[at + 1]!, id: b.slice(at + 2, at + 2 + ID_SIZE) };
  });
}

/** IWANT: n u16 (<= 256), then n ids (32 each) taken from IHAVEs of the receiver. */
export function encodeIWant(ids: Uint8Array[]): Uint8Array {
  const list = ids.slice(0, MAX_LAZY_IDS);
  const out = new Uint8Array(2 + ID_SIZE * list.length);
  out[0] = list.length >> 8;
  out[1] = list.length & 0xff;
  for (const [i, id] of list.entries()) out.set(id, 2 + ID_SIZE * i);
  return out;
}

export function decodeIWant(b: Uint8Array): Uint8Array[] {
  const n = lazyCount(b, 'IWANT', ID_SIZE);
  return Array.from({ length: n }, (_, i) => b.slice(2 + ID_SIZE * i, 2 + ID_SIZE * (i + 1)));
}

function lazyCount(b: Uint8Array, what: string, entry: number): number {
  if (b.length < 2) throw new LinkViolation(`${what} truncated`);
  const n = (b[0]! << 8) | b[1]!;
  if (n === 0 || n > MAX_LAZY_IDS) throw new LinkViolation(`${what} with ${n} entries`);
  if (b.length !== 2 + entry * n) throw new LinkViolation(`${what} length mismatch`);
  return n;
}
