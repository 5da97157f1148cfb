// DHT P2P messages (docs/dht-protocol.md), carried as application frames of an authenticated link
// (relay/p2p). Every request carries a request id that its reply echoes. Decoders are hostile-input
// safe: any malformed body throws LinkViolation, which drops that one link.
import { bytesToIp, ipToBytes } from '../../shared/address.ts';
import { LinkViolation } from '../p2p/index.ts';
import type { Contact } from './routing.ts';
import { ID_BYTES } from './xor.ts';

export const DhtType = {
  PING: 1100,
  PONG: 1101,
  FIND_NODE: 1102,
  NODES: 1103,
  FIND_VALUE: 1104,
  VALUE: 1105,
  STORE: 1106,
  STORED: 1107,
  /** A leading piece of a message too big for one frame; the last piece has the real type. */
  FRAGMENT: 1108,
} as const;

export const StoreStatus = { STORED: 0, QUOTA: 1, FULL: 2, REFUSED: 3 } as const;

/** Largest value the API can carry in a PUT (65535 - 40). */
export const MAX_VALUE_SIZE = 65495;
/** A NODES reply never lists more contacts than this (k is capped to it). */
export const MAX_CONTACTS = 32;

export type DhtMessage =
  | { type: 1100 | 1101; rid: number }
  | { type: 1102 | 1104; rid: number; target: Uint8Array }
  | { type: 1103; rid: number; nodes: Contact[] }
  | { type: 1105; rid: number; ttl: number; value: Uint8Array }
  | { type: 1106; rid: number; ttl: number; key: Uint8Array; value: Uint8Array }
  | { type: 1107; rid: number; status: number };

class Out {
  private readonly parts: Uint8Array[] = [];
  private len = 0;
  u8(v: number): this {
    return this.raw(Uint8Array.of(v));
  }
  u16(v: number): this {
    return this.raw(Uint8Array.of(v >>> 8, v & 0xff));
  }
  u32(v: number): this {
    return this.raw(Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.len);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

class In {
  private at = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {}
  private need(n: number): void {
    if (this.at + n > this.b.length) throw new LinkViolation(`${this.what}: truncated`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.at++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return ((this.u16() << 16) >>> 0) + this.u16();
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.b.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  rest(): Uint8Array {
    return this.bytes(this.b.length - this.at);
  }
  end(): void {
    if (this.at !== this.b.length)
      throw new LinkViolation(`${this.what}: ${this.b.length - this.at} trailing bytes`);
  }
}

function encodeContact(o: Out, c: Contact): void {
  const ip = ipToBytes(c.host);
  o.raw(c.id)
    .u8(ip.length === 4 ? 4 : 6)
    .u16(c.port)
    .raw(ip);
}

function decodeContact(i: In): Contact {
  const id = i.bytes(ID_BYTES);
  const family = i.u8();
  if (family !== 4 && family !== 6) throw new LinkViolation(`NODES: address family ${family}`);
  const port = i.u16();
  if (port === 0) throw new LinkViolation('NODES: port 0');
  return { id, port, host: bytesToIp(i.bytes(family === 4 ? 4 : 16)) };
}

function nonEmptyValue(v: Uint8Array, what: string): Uint8Array {
  if (v.length === 0 || v.length > MAX_VALUE_SIZE)
    throw new LinkViolation(`${what}: value of ${v.length} bytes`);
  return v;
}

export function encodeDht(m: DhtMessage): Uint8Array {
  const o = new Out().u32(m.rid);
  switch (m.type) {
    case 1100:
    case 1101:
      return o.done();
    case 1102:
    case 1104:
      return o.raw(m.target).done();
    case 1103:
      o.u8(m.nodes.length);
      for (const c of m.nodes) encodeContact(o, c);
      return o.done();
    case 1105:
      return o.u32(m.ttl).raw(m.value).done();
    case 1106:
      return o.u32(m.ttl).raw(m.key).raw(m.value).done();
    case 1107:
      return o.u8(m.status).done();
  }
}

export function decodeDht(type: number, body: Uint8Array): DhtMessage {
  const i = new In(body, `DHT message ${type}`);
  const rid = i.u32();
  let m: DhtMessage;
  switch (type) {
    case DhtType.PING:
    case DhtType.PONG:
      m = { type, rid };
      break;
    case DhtType.FIND_NODE:
    case DhtType.FIND_VALUE:
      m = { type, rid, target: i.bytes(ID_BYTES) };
      break;
    case DhtType.NODES: {
      const n = i.u8();
      if (n > MAX_CONTACTS) throw new LinkViolation(`NODES: ${n} contacts > ${MAX_CONTACTS}`);
      const nodes = Array.from({ length: n }, () => decodeContact(i));
      m = { type, rid, nodes };
      break;
    }
    case DhtType.VALUE:
      m = { type, rid, ttl: i.u32(), value: nonEmptyValue(i.rest(), 'VALUE') };
      break;
    case DhtType.STORE:
      m = { type, rid, ttl: i.u32(), key: i.bytes(ID_BYTES), value: nonEmptyValue(i.rest(), 'STORE') };
      break;
    case DhtType.STORED:
      m = { type, rid, status: i.u8() };
      break;
    default:
      throw new LinkViolation(`unknown DHT message type ${type}`);
  }
  i.end();
  return m;
}
