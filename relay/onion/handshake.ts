// Link handshake messages, carried in plaintext handshake cells of the one wire size.
// HELLO (initiator -> responder): X.  ACCEPT (responder -> initiator): Y | E(auth | DER | cert), E =
// AES-256-CTR keyed from X^y, so a passive observer does not see which relay answers (the relay
// still proves itself: ntor auth with its onion key, and the cert binds that key to its hostkey).
import { randomFillSync } from 'node:crypto';
import { handshakeCipher } from './crypto.ts';
import { HS_DATA, HS_HEADER, HS_MAGIC, HsType, WIRE_CELL_SIZE } from './cell.ts';

export const MAX_HS_CELLS = 8;

/** Split a handshake message into handshake cells (random padding after the data). */
export function encodeHandshake(type: number, msg: Uint8Array): Uint8Array {
  const count = Math.max(1, Math.ceil(msg.length / HS_DATA));
  if (count > MAX_HS_CELLS) throw new Error(`handshake message too large (${msg.length} bytes)`);
  const out = new Uint8Array(count * WIRE_CELL_SIZE);
  randomFillSync(out);
  for (let i = 0; i < count; i++) {
    const at = i * WIRE_CELL_SIZE;
    const part = msg.subarray(i * HS_DATA, (i + 1) * HS_DATA);
    out.set(HS_MAGIC, at);
    out[at + 4] = type;
    out[at + 5] = i;
    out[at + 6] = count;
    out[at + 7] = part.length;
    out.set(part, at + HS_HEADER);
  }
  return out;
}

/** Collects the handshake cells of one message; throws on anything malformed. */
export class HandshakeReader {
  private parts: Uint8Array[] = [];
  private count = 0;

  constructor(private readonly type: number) {}

  /** Feed one wire cell; returns the whole message once its last cell arrived. */
  push(cell: Uint8Array): Uint8Array | undefined {
    for (let i = 0; i < 4; i++)
      if (cell[i] !== HS_MAGIC[i]) throw new Error('not a handshake cell (bad magic)');
    if (cell[4] !== this.type) throw new Error(`expected handshake type ${this.type}, got ${cell[4]}`);
    const idx = cell[5]!;
    const count = cell[6]!;
    const len = cell[7]!;
    if (count < 1 || count > MAX_HS_CELLS || len > HS_DATA) throw new Error('bad handshake cell header');
    if (this.parts.length === 0) this.count = count;
    if (count !== this.count || idx !== this.parts.length) throw new Error('handshake cells out of order');
    if (idx < count - 1 && len !== HS_DATA) throw new Error('short handshake cell before the last');
    this.parts.push(cell.slice(HS_HEADER, HS_HEADER + len));
    if (this.parts.length < this.count) return undefined;
    return new Uint8Array(Buffer.concat(this.parts));
  }
}

export interface Accept {
  Y: Uint8Array;
  auth: Uint8Array;
  der: Uint8Array;
  cert: Uint8Array;
}

export function encodeAccept(a: Accept, xy: Uint8Array): Uint8Array {
  const out = new Uint8Array(64 + 2 + a.der.length + 2 + a.cert.length);
  const v = new DataView(out.buffer);
  out.set(a.Y, 0);
  out.set(a.auth, 32);
  v.setUint16(64, a.der.length);
  out.set(a.der, 66);
  v.setUint16(66 + a.der.length, a.cert.length);
  out.set(a.cert, 68 + a.der.length);
  out.set(handshakeCipher(xy, out.subarray(32)), 32);
  return out;
}

/** `xyOf(Y)` computes X^y on the initiator's side (null: bad Y). */
export function decodeAccept(msg: Uint8Array, xyOf: (Y: Uint8Array) => Uint8Array | null): Accept {
  if (msg.length < 68) throw new Error('ACCEPT too short');
  const xy = xyOf(msg.subarray(0, 32));
  if (!xy) throw new Error('ACCEPT: bad Y');
  const b = new Uint8Array(msg);
  b.set(handshakeCipher(xy, msg.subarray(32)), 32);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const derLen = v.getUint16(64);
  if (68 + derLen > b.length) throw new Error('ACCEPT: DER length out of range');
  const certLen = v.getUint16(66 + derLen);
  if (68 + derLen + certLen !== b.length) throw new Error('ACCEPT: cert length mismatch');
  return {
    Y: b.slice(0, 32),
    auth: b.slice(32, 64),
    der: b.slice(66, 66 + derLen),
    cert: b.slice(68 + derLen),
  };
}

export const HELLO = HsType.HELLO;
export const ACCEPT = HsType.ACCEPT;
