// Link encryption after the handshake: one authenticated record per link write, not one AEAD per cell.
// Node charges ~1 us per crypto call and ~8 us to create, run and finish an AES-GCM object, which is what
// sealing and opening every cell on its own cost (more than the rest of a hop's work together). Here
// every cipher object lives as long as the link.
//
// Each direction of a link has one AES-256-CTR keystream that runs on across the whole link (TCP delivers
// every byte once and in order) and a GMAC key. On the wire everything is still 240-byte units:
//   unit = CTR( cell (224) | trailer (16) )
// A record is 1..MAX_RECORD_CELLS units; the trailer of every unit but the last is 16 zero bytes, the
// last unit's trailer is the record's tag, AES-CMAC(mac key, record counter | the record's ciphertext
// up to that trailer). A receiver decrypts what it has read in one call, and hands on the
// cells of a record only after its tag verified. A unit that is cut, replayed, reordered, forged or
// moved to another link changes the keystream or the MAC input, so its record fails and the link closes;
// a forged trailer either decrypts to non-zero (then it is taken as a tag, which fails) or would need
// the tag's value. Per write: one CTR call and one CBC call (the CMAC) per record, whatever the number of cells.
import { type Cipher, createCipheriv, timingSafeEqual } from 'node:crypto';
import { CELL_SIZE, WIRE_CELL_SIZE } from './cell.ts';
import { TAG_SIZE } from './crypto.ts';

/** Cells per record at most (~15 KB): bounds what a receiver buffers before it can check a tag. */
export const MAX_RECORD_CELLS = 64;
const UNIT = WIRE_CELL_SIZE;

function ctr(key: Uint8Array): Cipher {
  // Encryption and decryption of CTR are the same operation; the IV is fixed, as every key is used
  // for one direction of one link only (fresh ntor keys per link).
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
}

/**
 * AES-256-CMAC (NIST SP 800-38B) of whole 16-byte blocks, on one AES-CBC object kept for the link's
 * lifetime: creating a MAC or AEAD object per record costs Node ~5 us. The object's CBC chain goes on
 * from its last output block C, so feeding m1 ^ C as the first block makes it compute AES(m1 ^ 0), a
 * fresh CBC-MAC with a zero IV; the last block is XORed with the subkey K1 (CMAC for a complete block).
 */
export class Cmac {
  private readonly cbc: Cipher;
  private readonly k1: Uint8Array;
  private readonly chain = new Uint8Array(16);
  private scratch = Buffer.alloc(MAX_RECORD_CELLS * UNIT + 16);

  constructor(key: Uint8Array) {
    this.cbc = createCipheriv('aes-256-cbc', key, Buffer.alloc(16));
    this.cbc.setAutoPadding(false);
    const ecb = createCipheriv('aes-256-ecb', key, null);
    ecb.setAutoPadding(false);
    this.k1 = dbl(ecb.update(Buffer.alloc(16)));
  }

  /** CMAC of head (16 bytes) | data (a multiple of 16 bytes). */
  mac(head: Uint8Array, data: Uint8Array): Uint8Array {
    const len = 16 + data.length;
    if (this.scratch.length < len) this.scratch = Buffer.alloc(len);
    const m = this.scratch;
    m.set(head, 0);
    m.set(data, 16);
    for (let i = 0; i < 16; i++) m[i]! ^= this.chain[i]!;
    for (let i = 0; i < 16; i++) m[len - 16 + i]! ^= this.k1[i]!;
    const out = this.cbc.update(m.subarray(0, len));
    this.chain.set(out.subarray(len - 16, len));
    return this.chain;
  }
}

/** Doubling in GF(2^128) (the CMAC subkey step). */
function dbl(l: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = ((l[i]! << 1) | (i < 15 ? l[i + 1]! >> 7 : 0)) & 0xff;
  if (l[0]! & 0x80) out[15]! ^= 0x87;
  return out;
}

/** The MAC of record number `counter`: CMAC(counter u64 | 0^8 | ciphertext). */
function recordTag(mac: Cmac, counter: number, head: Uint8Array, data: Uint8Array): Uint8Array {
  const v = new DataView(head.buffer, head.byteOffset, 16);
  v.setUint32(0, Math.floor(counter / 2 ** 32));
  v.setUint32(4, counter >>> 0);
  return mac.mac(head, data);
}

/** The sending side of one link direction. */
export class RecordSealer {
  private readonly ks: Cipher;
  private readonly mac: Cmac;
  private readonly head = new Uint8Array(16);
  private counter = 0;

  constructor(encKey: Uint8Array, macKey: Uint8Array) {
    this.ks = ctr(encKey);
    this.mac = new Cmac(macKey);
  }

  /** The bytes of `cells` (each CELL_SIZE) as records of at most MAX_RECORD_CELLS units, ready to write. */
  seal(cells: readonly Uint8Array[]): Buffer {
    const n = cells.length;
    const plain = Buffer.alloc(n * UNIT); // zeroed: every trailer starts as "more follows"
    for (let i = 0; i < n; i++) plain.set(cells[i]!, i * UNIT);
    const out = this.ks.update(plain);
    for (let s = 0; s < n; s += MAX_RECORD_CELLS) {
      const end = Math.min(n, s + MAX_RECORD_CELLS) * UNIT - TAG_SIZE;
      const tag = recordTag(this.mac, this.counter++, this.head, out.subarray(s * UNIT, end));
      // The last trailer's plaintext is zero, so its ciphertext is keystream: XOR the tag in.
      for (let j = 0; j < TAG_SIZE; j++) out[end + j]! ^= tag[j]!;
    }
    return out;
  }
}

/** The receiving side of one link direction. */
export class RecordOpener {
  private readonly ks: Cipher;
  private readonly mac: Cmac;
  private readonly head = new Uint8Array(16);
  private counter = 0;
  /** Ciphertext of the record in progress that came in earlier reads (for its MAC). */
  private readonly carry = Buffer.allocUnsafe(MAX_RECORD_CELLS * UNIT);
  private carryLen = 0;
  /** Cells of the record in progress (not yet authenticated). */
  private open: Uint8Array[] = [];

  constructor(encKey: Uint8Array, macKey: Uint8Array) {
    this.ks = ctr(encKey);
    this.mac = new Cmac(macKey);
  }

  /** True while a record has started and its tag has not arrived. */
  get partial(): boolean {
    return this.open.length > 0;
  }

  /**
   * Decrypts whole units (a multiple of WIRE_CELL_SIZE bytes); pushes the cells of every record that
   * ends in them and verifies to `out` (views into one new buffer). False: a record failed or is too
   * long; the link must close.
   */
  read(units: Uint8Array, out: Uint8Array[]): boolean {
    const plain = this.ks.update(units);
    const n = units.length / UNIT;
    let start = 0; // first unit of the current record within `units`
    for (let u = 0; u < n; u++) {
      const t = u * UNIT + CELL_SIZE;
      // A plain Uint8Array view: Buffer's slice() would not copy, and callers may rely on slice() copying.
      this.open.push(new Uint8Array(plain.buffer, plain.byteOffset + u * UNIT, CELL_SIZE));
      if (isZero16(plain, t)) {
        if (this.open.length >= MAX_RECORD_CELLS) return false;
        continue;
      }
      let aad: Uint8Array = units.subarray(start * UNIT, t);
      if (this.carryLen > 0) {
        this.carry.set(aad, this.carryLen);
        aad = this.carry.subarray(0, this.carryLen + aad.length);
      }
      const tag = recordTag(this.mac, this.counter++, this.head, aad);
      if (!timingSafeEqual(tag, plain.subarray(t, t + TAG_SIZE))) return false;
      for (const c of this.open) out.push(c);
      this.open = [];
      this.carryLen = 0;
      start = u + 1;
    }
    if (start < n) {
      this.carry.set(units.subarray(start * UNIT), this.carryLen);
      this.carryLen += (n - start) * UNIT;
    }
    return true;
  }
}

function isZero16(b: Uint8Array, at: number): boolean {
  let x = 0;
  for (let i = at; i < at + TAG_SIZE; i++) x |= b[i]!;
  return x === 0;
}
