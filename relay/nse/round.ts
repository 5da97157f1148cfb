// Round arithmetic of the NSE (GNUnet NSE, Evans/Polot/Grothoff 2012): rounds are aligned to wall-clock
// time, each round has K independent keys derived from its start time, and a peer's proximity to a key
// is the number of leading bits its identity shares with that key. Pure functions, no I/O.
import { createHash } from 'node:crypto';

/**
 * E[max proximity] over N peers is log2(N) + 0.332747 (the maximum of N geometric(1/2) variables),
 * so 2^(p - 0.332747) estimates N from the best proximity p.
 */
export const PROXIMITY_BIAS = 0.332747;

export interface RoundParams {
  /** Round length in ms; every peer must use the same. */
  readonly roundMs: number;
  /** Independent keys per round (1 = plain GNUnet). */
  readonly keys: number;
}

export function roundStart(now: number, roundMs: number): number {
  return Math.floor(now / roundMs) * roundMs;
}

const KEY_CONTEXT = Buffer.from('voidphone-nse-round-key-v1\0');

/** Key k of the round starting at `start` (ms since epoch): SHA-256(context || start u64 || len u32 || k u8). */
export function roundKey(start: number, roundMs: number, k: number): Uint8Array {
  const b = Buffer.alloc(13);
  b.writeBigUInt64BE(BigInt(start), 0);
  b.writeUInt32BE(roundMs, 8);
  b.writeUInt8(k, 12);
  return new Uint8Array(createHash('sha256').update(KEY_CONTEXT).update(b).digest());
}

export function roundKeys(start: number, p: RoundParams): Uint8Array[] {
  return Array.from({ length: p.keys }, (_, k) => roundKey(start, p.roundMs, k));
}

/** Number of leading bits `a` and `b` have in common (0..8*length). */
export function matchingBits(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return n * 8;
}

/** The identity's proximity to each of the round's keys. */
export function proximities(identity: Uint8Array, keys: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(keys, (key) => matchingBits(identity, key));
}

/**
 * When, after the round start, a peer with proximity `p` floods its claim (GNUnet's formula): peers far
 * above the expected best `expected` (= log2 of the current estimate + bias) send almost at once, those
 * far below almost at the end of the send window, so the best claim usually floods first and silences
 * the rest. `windowMs` is the send window; the result lies in (0, windowMs).
 */
export function sendDelay(p: number, expected: number, windowMs: number): number {
  return windowMs * (0.5 - Math.atan(p - expected) / Math.PI);
}

/** log2(estimate) + bias: the proximity the best claim of the round is expected to have. */
export function expectedBest(estimate: number): number {
  return Math.log2(Math.max(1, estimate)) + PROXIMITY_BIAS;
}

/** N from a mean best proximity. */
export function estimateFromProximity(meanBest: number): number {
  return 2 ** (meanBest - PROXIMITY_BIAS);
}
