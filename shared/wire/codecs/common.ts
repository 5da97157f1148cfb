// Shared pieces of every codec: a bounds-checked Writer (header + body) and Reader.
// Browser-safe: Uint8Array/DataView only.

import { AddressError, bytesToIp, ipToBytes, isIPv6 } from '../../address.ts';
import { WireError } from '../errors.ts';
import type { ApiMessage } from '../types.ts';
import { HEADER_SIZE, MAX_MESSAGE_SIZE } from '../types.ts';

/** One message type's encoder/decoder. `decode` gets a frame whose header is already validated. */
export interface Codec<M extends ApiMessage = ApiMessage> {
  readonly type: M['type'];
  encode(msg: M): Uint8Array;
  decode(r: Reader): M;
}

function checkInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new WireError('BAD_FIELD', `${name}=${v} not in 0..${max}`);
  return v;
}

function checkBytes(name: string, b: Uint8Array): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new WireError('BAD_FIELD', `${name} must be a Uint8Array`);
  return b;
}

/** Writes one whole message: header first, then the body fields in order. */
export class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = HEADER_SIZE;

  constructor(type: number, bodyLength: number) {
    const size = HEADER_SIZE + bodyLength;
    if (size > MAX_MESSAGE_SIZE)
      throw new WireError('TOO_LARGE', `message of ${size} bytes > ${MAX_MESSAGE_SIZE}`);
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.view.setUint16(0, size);
    this.view.setUint16(2, type);
  }

  u8(name: string, v: number): this {
    this.view.setUint8(this.pos, checkInt(name, v, 0xff));
    this.pos += 1;
    return this;
  }

  u16(name: string, v: number): this {
    this.view.setUint16(this.pos, checkInt(name, v, 0xffff));
    this.pos += 2;
    return this;
  }

  u32(name: string, v: number): this {
    this.view.setUint32(this.pos, checkInt(name, v, 0xffffffff));
    this.pos += 4;
    return this;
  }

  raw(b: Uint8Array): this {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** The finished message; every byte must have been written. */
  done(): Uint8Array {
    if (this.pos !== this.bytes.length)
      throw new Error(`codec bug: wrote ${this.pos} of ${this.bytes.length}`);
    return this.bytes;
  }
}

/** Reads the body of one validated frame; every read is bounds-checked (TRUNCATED). */
export class Reader {
  readonly bytes: Uint8Array;
  readonly size: number;
  readonly type: number;
  private readonly view: DataView;
  private pos = HEADER_SIZE;

  constructor(frame: Uint8Array) {
    this.bytes = frame;
    this.view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    this.size = frame.length;
    this.type = this.view.getUint16(2);
  }

  get remaining(): number {
    return this.size - this.pos;
  }

  /** Fixed-size messages: the whole frame must be exactly `size` bytes. */
  fixedSize(size: number): this {
    if (this.size !== size) {
      throw new WireError('BAD_FIXED_SIZE', `type ${this.type} must be ${size} bytes, got ${this.size}`);
    }
    return this;
  }

  /** Variable-size messages: at least `size` bytes for the fixed part. */
  minSize(size: number): this {
    if (this.size < size)
      throw new WireError('TRUNCATED', `type ${this.type} needs >= ${size} bytes, got ${this.size}`);
    return this;
  }

  private need(n: number, what: string): number {
    if (n > this.remaining) {
      throw new WireError(
        'TRUNCATED',
        `${what}: need ${n} bytes at offset ${this.pos}, have ${this.remaining}`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what = 'u8'): number {
    return this.view.getUint8(this.need(1, what));
  }

  u16(what = 'u16'): number {
    return this.view.getUint16(this.need(2, what));
  }

  u32(what = 'u32'): number {
    return this.view.getUint32(this.need(4, what));
  }

  /** A copy of the next n bytes. */
  bytesN(n: number, what = 'bytes'): Uint8Array {
    const at = this.need(n, what);
    return this.bytes.slice(at, at + n);
  }

  /** A copy of everything left. */
  rest(): Uint8Array {
    return this.bytesN(this.remaining);
  }
}

// ---- field helpers shared by several codecs ----

export const KEY_SIZE = 32;

/** Encode side: a byte field that must be a Uint8Array. */
export function bytesField(name: string, b: Uint8Array): Uint8Array {
  return checkBytes(name, b);
}

/** Encode side: a DHT key, exactly 32 bytes. */
export function keyField(key: Uint8Array): Uint8Array {
  checkBytes('key', key);
  if (key.length !== KEY_SIZE)
    throw new WireError('BAD_FIELD', `key must be ${KEY_SIZE} bytes, got ${key.length}`);
  return key;
}

/** Encode side: a hostkey, non-empty. */
export function hostkeyField(hostkey: Uint8Array): Uint8Array {
  checkBytes('hostkey', hostkey);
  if (hostkey.length === 0) throw new WireError('EMPTY_HOSTKEY', 'hostkey is empty');
  return hostkey;
}

/** Decode side: the rest of the frame as a hostkey, non-empty. */
export function readHostkey(r: Reader): Uint8Array {
  if (r.remaining === 0) throw new WireError('EMPTY_HOSTKEY', `type ${r.type} without a hostkey`);
  return r.rest();
}

/** Encode side: IP text to 4/16 bytes plus the V flag (1 = IPv6). */
export function ipField(address: string): { v6: number; bytes: Uint8Array } {
  if (typeof address !== 'string') throw new WireError('BAD_ADDRESS', 'address must be a string');
  try {
    return { v6: isIPv6(address) ? 1 : 0, bytes: ipToBytes(address) };
  } catch (e) {
    if (e instanceof AddressError) throw new WireError('BAD_ADDRESS', e.message);
    throw e;
  }
}

/** Decode side: a 4- or 16-byte address chosen by the V flag; too few bytes left is BAD_ADDRESS. */
export function readIp(r: Reader, v6: boolean): string {
  const n = v6 ? 16 : 4;
  if (r.remaining < n) {
    throw new WireError('BAD_ADDRESS', `IPv${v6 ? 6 : 4} flag but only ${r.remaining} address bytes`);
  }
  return bytesToIp(r.bytesN(n, 'address'));
}
