// Kademlia's XOR metric over 256-bit ids (identity = SHA-256 of the hostkey DER, so ids are
// uniformly spread and cannot be chosen). Distances are compared as big-endian byte strings.

export const ID_BYTES = 32;
export const ID_BITS = ID_BYTES * 8;

export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** <0 when a is closer to target than b, 0 when equally close (a = b), >0 otherwise. */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const da = a[i]! ^ target[i]!;
    const db = b[i]! ^ target[i]!;
    if (da !== db) return da - db;
  }
  return 0;
}

/** Number of leading bits a and b share (256 when equal). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BITS;
}

export function idEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Sort items by the XOR distance of their id to target (closest first); returns a new array. */
export function sortByDistance<T extends { id: Uint8Array }>(target: Uint8Array, items: Iterable<T>): T[] {
  return [...items].sort((x, y) => compareDistance(target, x.id, y.id));
}

/** A random id whose common prefix with `self` is exactly `bits` long: a target inside bucket `bits`. */
export function randomIdInBucket(
  self: Uint8Array,
  bits: number,
  random: (n: number) => Uint8Array,
): Uint8Array {
  const id = random(ID_BYTES);
  for (let i = 0; i < ID_BITS; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    const own = self[byte]! & mask;
    if (i < bits) id[byte] = (id[byte]! & ~mask) | own;
    else if (i === bits) id[byte] = (id[byte]! & ~mask) | (own ^ mask);
  }
  return id;
}
