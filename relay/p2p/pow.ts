// Proof of work on an identity: an 8-byte nonce such that SHA-256(identity || nonce) starts with
// `bits` zero bits. It makes identities cost CPU (Sybil/eclipse defence). Found once per identity
// and kept in memory; the search yields to the event loop so a relay stays responsive meanwhile.
import { createHash } from 'node:crypto';

export const POW_NONCE_SIZE = 8;
const CHUNK = 4096;

export function leadingZeroBits(h: Uint8Array): number {
  let n = 0;
  for (const byte of h) {
    if (byte === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(byte) - 24;
  }
  return n;
}

function powHash(identity: Uint8Array, nonce: Uint8Array): Uint8Array {
  return createHash('sha256').update(identity).update(nonce).digest();
}

export function checkPow(identity: Uint8Array, nonce: Uint8Array, bits: number): boolean {
  return nonce.length === POW_NONCE_SIZE && leadingZeroBits(powHash(identity, nonce)) >= bits;
}

const cache = new Map<string, Promise<Uint8Array>>();

/** The nonce for `identity` at `bits` (cached per identity and difficulty). */
export function findPow(identity: Uint8Array, bits: number): Promise<Uint8Array> {
  const key = `${Buffer.from(identity).toString('hex')}/${bits}`;
  let p = cache.get(key);
  if (!p) {
    p = search(identity, bits);
    cache.set(key, p);
  }
  return p;
}

async function search(identity: Uint8Array, bits: number): Promise<Uint8Array> {
  const nonce = new Uint8Array(POW_NONCE_SIZE);
  const view = new DataView(nonce.buffer);
  for (let hi = 0; ; hi++) {
    view.setUint32(0, hi);
    for (let lo = 0; lo < 2 ** 32; lo++) {
      view.setUint32(4, lo);
      if (leadingZeroBits(powHash(identity, nonce)) >= bits) return nonce;
      if (lo % CHUNK === CHUNK - 1) await new Promise((r) => setImmediate(r));
    }
  }
}
