// Per-hop layered encryption of RELAY cells. Each cell carries a 16-byte nonce block N that every
// hop transforms with an AES-256 block permutation keyed per hop and direction, and a 203-byte body
// XORed with an AES-256-CTR keystream keyed per hop and direction from the N it sees on its
// initiator-side link. So no byte of a cell is the same on two links, each cell decrypts on its own
// (a dropped cell never desynchronises a tunnel), and a cell meant for a hop decrypts there to
// N = 0^4 | seq u32 | mac 8, mac = HMAC-SHA256(hop's MAC key, seq | body)[0..8]: that is the
// per-hop integrity check, and seq feeds a replay window.
import {
  type Cipher,
  createCipheriv,
  createDecipheriv,
  createHmac,
  type Decipher,
  timingSafeEqual,
} from 'node:crypto';
import { BODY_OFFSET, BODY_SIZE, CELL_SIZE, N_OFFSET, N_SIZE } from './cell.ts';
import { hkdf } from './crypto.ts';

const KS_BLOCKS = Math.ceil(BODY_SIZE / 16);
const MAC_SIZE = 8;
const WINDOW = 1024;

function ecb(key: Uint8Array): Cipher {
  const c = createCipheriv('aes-256-ecb', key, null);
  c.setAutoPadding(false);
  return c;
}
function ecbDec(key: Uint8Array): Decipher {
  const d = createDecipheriv('aes-256-ecb', key, null);
  d.setAutoPadding(false);
  return d;
}

/** Sliding-window replay filter over 32-bit sequence numbers (like IPsec/DTLS); a bit per seq. */
export class ReplayWindow {
  private max = -1;
  private readonly seen = new Uint32Array(WINDOW / 32);

  private bit(s: number): boolean {
    return ((this.seen[(s % WINDOW) >>> 5]! >>> (s & 31)) & 1) === 1;
  }

  private set(s: number, on: boolean): void {
    const i = (s % WINDOW) >>> 5;
    const m = 1 << (s & 31);
    this.seen[i] = on ? this.seen[i]! | m : this.seen[i]! & ~m;
  }

  /** True (and records it) if seq is new and not too old. */
  accept(seq: number): boolean {
    if (seq > this.max) {
      for (let s = Math.max(this.max + 1, seq - WINDOW + 1); s <= seq; s++) this.set(s, false);
      this.max = seq;
    } else if (seq <= this.max - WINDOW || this.bit(seq)) {
      return false;
    }
    this.set(seq, true);
    return true;
  }
}

class Direction {
  readonly ks: Cipher;
  readonly macKey: Uint8Array;
  readonly replay = new ReplayWindow();
  private readonly blocks = Buffer.alloc(KS_BLOCKS * 16);
  // The N permutation one way or the other, made when first used: a hop uses one of the two per
  // direction, the initiator the other (an OpenSSL cipher object is ~2 KB, a hop circuit had six).
  private enc: Cipher | undefined;
  private dec: Decipher | undefined;
  seqOut = 0;

  constructor(
    private readonly nKey: Uint8Array,
    ksKey: Uint8Array,
    macKey: Uint8Array,
  ) {
    this.ks = ecb(ksKey);
    this.macKey = macKey;
  }

  get nEnc(): Cipher {
    this.enc ??= ecb(this.nKey);
    return this.enc;
  }

  get nDec(): Decipher {
    this.dec ??= ecbDec(this.nKey);
    return this.dec;
  }

  /** body ^= AES-CTR(ksKey, iv = A). */
  xorBody(cell: Uint8Array, A: Uint8Array): void {
    const blocks = this.blocks; // reused: everything here is synchronous
    const base = ((A[12]! << 24) | (A[13]! << 16) | (A[14]! << 8) | A[15]!) >>> 0;
    // Plain loops over typed arrays: the JIT inlines them; Buffer methods per block cost a call each.
    for (let i = 0, o = 0; i < KS_BLOCKS; i++, o += 16) {
      for (let j = 0; j < 12; j++) blocks[o + j] = A[j]!;
      const c = (base + i) >>> 0;
      blocks[o + 12] = c >>> 24;
      blocks[o + 13] = (c >>> 16) & 0xff;
      blocks[o + 14] = (c >>> 8) & 0xff;
      blocks[o + 15] = c & 0xff;
    }
    const ks = this.ks.update(blocks);
    for (let i = 0; i < BODY_SIZE; i++) cell[BODY_OFFSET + i]! ^= ks[i]!;
  }

  /** MAC of (seq | body) under this direction's MAC key, first 8 bytes (seq = N[4..8]). */
  private mac(n: Uint8Array, cell: Uint8Array): Buffer {
    return createHmac('sha256', this.macKey)
      .update(n.subarray(4, 8))
      .update(cell.subarray(BODY_OFFSET))
      .digest();
  }

  /** The N a cell for this hop ends with: 0^4 | seq | mac(seq | plaintext body). */
  seal(cell: Uint8Array): Uint8Array {
    const n = new Uint8Array(N_SIZE);
    const seq = this.seqOut++;
    n[4] = seq >>> 24;
    n[5] = (seq >>> 16) & 0xff;
    n[6] = (seq >>> 8) & 0xff;
    n[7] = seq & 0xff;
    n.set(this.mac(n, cell).subarray(0, MAC_SIZE), 8);
    return n;
  }

  /** Is this (decrypted) cell ours: zero prefix, valid MAC, fresh seq? */
  recognize(n: Uint8Array, cell: Uint8Array): boolean {
    if (n[0] !== 0 || n[1] !== 0 || n[2] !== 0 || n[3] !== 0) return false;
    if (!timingSafeEqual(this.mac(n, cell).subarray(0, MAC_SIZE), n.subarray(8, 16))) return false;
    return this.replay.accept(((n[4]! << 24) | (n[5]! << 16) | (n[6]! << 8) | n[7]!) >>> 0);
  }
}

/** One hop's keys, as both the initiator and that hop hold them. */
export class HopLayer {
  readonly fwd: Direction;
  readonly back: Direction;
  /** Secret the initiator and this hop share; the destination uses it to link the next round's tunnel. */
  readonly resumeSecret: Uint8Array;

  constructor(keySeed: Uint8Array) {
    const k = hkdf(keySeed, 'voidphone hop keys v1', 32 * 7);
    const part = (i: number) => k.slice(32 * i, 32 * (i + 1));
    this.fwd = new Direction(part(0), part(1), part(2));
    this.back = new Direction(part(3), part(4), part(5));
    this.resumeSecret = part(6);
  }
}

/** A view of the cell's N (cipher update() reads it before anything overwrites it). */
function readN(cell: Uint8Array): Uint8Array {
  return cell.subarray(N_OFFSET, N_OFFSET + N_SIZE);
}

// ---- initiator side ----

/** Encrypt a cell whose plaintext body is set, for hop `target` (0-based) of `layers`. */
export function originWrap(layers: HopLayer[], target: number, cell: Uint8Array): void {
  let A = layers[target]!.fwd.seal(cell);
  for (let j = target; j >= 0; j--) {
    const d = layers[j]!.fwd;
    A = d.nEnc.update(A);
    d.xorBody(cell, A);
  }
  cell.set(A, N_OFFSET);
}

/** Peel backward layers; returns the index of the hop that sent it, or -1 if no hop recognizes it. */
export function originUnwrap(layers: HopLayer[], cell: Uint8Array): number {
  if (cell.length !== CELL_SIZE) return -1;
  let B = readN(cell);
  for (let j = 0; j < layers.length; j++) {
    const d = layers[j]!.back;
    d.xorBody(cell, B);
    B = d.nDec.update(B);
    if (d.recognize(B, cell)) return j;
  }
  return -1;
}

// ---- hop side ----

/** Remove this hop's forward layer in place; true if the cell is for this hop. */
export function hopForward(layer: HopLayer, cell: Uint8Array): boolean {
  const A = readN(cell);
  layer.fwd.xorBody(cell, A);
  const n = layer.fwd.nDec.update(A);
  cell.set(n, N_OFFSET);
  return layer.fwd.recognize(n, cell);
}

/** Add this hop's backward layer in place (to a cell from further along the tunnel). */
export function hopBackward(layer: HopLayer, cell: Uint8Array): void {
  const B = layer.back.nEnc.update(readN(cell));
  cell.set(B, N_OFFSET);
  layer.back.xorBody(cell, B);
}

/** Seal a cell this hop originates (plaintext body set) and add its layer. */
export function hopOriginate(layer: HopLayer, cell: Uint8Array): void {
  cell.set(layer.back.seal(cell), N_OFFSET);
  hopBackward(layer, cell);
}
