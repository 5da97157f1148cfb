// RPS P2P messages, carried as application frames of a relay/p2p link (protocol label
// "voidphone-rps-v1"; mutually authenticated, encrypted). Byte layouts: docs/rps-protocol.md.
import { LinkViolation } from '../p2p/index.ts';

export const RPS_PROTOCOL = 'voidphone-rps-v1';

/** Frame types (>= 1010 per the link layer; outside the API's 500-689). */
export const RpsType = {
  /** The sender's own signed record: "I exist, put me in your view". */
  PUSH: 1540,
  /** Ask for the receiver's view. */
  PULL_REQUEST: 1541,
  /** The receiver's own record followed by records of its view. */
  PULL_REPLY: 1542,
  /** Liveness probe and its answer. */
  PROBE: 1543,
  PROBE_REPLY: 1544,
} as const;

export function encodeNonce(nonce: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, nonce);
  return b;
}

/** PULL_REQUEST, PROBE, PROBE_REPLY: exactly a u32 nonce. */
export function decodeNonce(body: Uint8Array, what: string): number {
  if (body.length !== 4) throw new LinkViolation(`${what} of ${body.length} bytes (expected 4)`);
  return new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
}

/** PULL_REPLY: u32 nonce, u16 count, count × (u16 length, record). Stops before `maxBody`. */
export function encodePullReply(nonce: number, records: Uint8Array[], maxBody: number): Uint8Array {
  const chosen: Uint8Array[] = [];
  let size = 6;
  for (const r of records) {
    if (size + 2 + r.length > maxBody || chosen.length >= 0xffff) break;
    chosen.push(r);
    size += 2 + r.length;
  }
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, nonce);
  v.setUint16(4, chosen.length);
  let at = 6;
  for (const r of chosen) {
    v.setUint16(at, r.length);
    out.set(r, at + 2);
    at += 2 + r.length;
  }
  return out;
}

export function decodePullReply(
  body: Uint8Array,
  maxRecords: number,
): { nonce: number; records: Uint8Array[] } {
  if (body.length < 6) throw new LinkViolation(`PULL_REPLY of ${body.length} bytes`);
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const nonce = v.getUint32(0);
  const count = v.getUint16(4);
  if (count > maxRecords) throw new LinkViolation(`PULL_REPLY with ${count} records (max ${maxRecords})`);
  const records: Uint8Array[] = [];
  let at = 6;
  for (let i = 0; i < count; i++) {
    if (at + 2 > body.length) throw new LinkViolation('PULL_REPLY truncated');
    const len = v.getUint16(at);
    if (at + 2 + len > body.length) throw new LinkViolation('PULL_REPLY record truncated');
    records.push(body.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  if (at !== body.length) throw new LinkViolation(`PULL_REPLY has ${body.length - at} trailing bytes`);
  return { nonce, records };
}
