// The NSE claim: what a peer floods through Gossip (data type NSE_DATA_TYPE) to say "in the round that
// started at T, my identity is this close to the round's keys". Layout in docs/nse-protocol.md.
// Decoding is hostile-input safe: every length is checked against the bytes that remain, and a bad
// claim is a ClaimError with a stable code, never a crash.
import { POW_NONCE_SIZE } from '../p2p/pow.ts';

/** Gossip data type of NSE claims ("NS"). RPS and presence use other types. */
export const NSE_DATA_TYPE = 0x4e53;
export const CLAIM_VERSION = 1;
export const MAX_KEYS = 16;
/** An RSA-4096 SPKI is 550 bytes; leave room for PKCS#1 input and other encodings, refuse more. */
export const MAX_HOSTKEY_DER = 1024;
/** RSA-4096 signatures are 512 bytes. */
export const MAX_SIGNATURE = 512;
const IDENTITY_SIZE = 32;
const FIXED = 16;

export type ClaimErrorCode =
  | 'MALFORMED' // lengths or layout wrong
  | 'PARAMS' // version, key count or round length differ from ours
  | 'FUTURE_ROUND' // round has not started yet (beyond the clock-skew allowance)
  | 'STALE_ROUND' // round is over (replayed or late)
  | 'BAD_KEY' // hostkey is not an acceptable RSA public key
  | 'IDENTITY_MISMATCH' // identity != SHA-256(SPKI DER of hostkey)
  | 'PROXIMITY_MISMATCH' // claimed proximities are not the identity's
  | 'BAD_POW' // proof of work on the identity missing
  | 'BAD_SIGNATURE'; // hostkey signature does not verify

export class ClaimError extends Error {
  constructor(
    readonly code: ClaimErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ClaimError';
  }
}

export interface Claim {
  version: number;
  /** Round length in ms (must equal ours). */
  roundMs: number;
  /** Round start, ms since the Unix epoch (a multiple of roundMs). */
  roundStart: number;
  /** Proximity to each of the round's keys. */
  proximities: Uint8Array;
  identity: Uint8Array;
  powNonce: Uint8Array;
  hostkey: Uint8Array;
  signature: Uint8Array;
}

const SIGN_CONTEXT = new TextEncoder().encode('voidphone-nse-claim-v1\0');

/** Bytes covered by the signature: context || every claim byte before the signature length. */
export function signedBytes(data: Uint8Array, signedLength: number): Uint8Array {
  const out = new Uint8Array(SIGN_CONTEXT.length + signedLength);
  out.set(SIGN_CONTEXT, 0);
  out.set(data.subarray(0, signedLength), SIGN_CONTEXT.length);
  return out;
}

type Unsigned = Omit<Claim, 'signature'>;

/** Everything but the trailing signature length + signature. */
export function encodeUnsigned(c: Unsigned): Uint8Array {
  const k = c.proximities.length;
  if (k < 1 || k > MAX_KEYS) throw new ClaimError('MALFORMED', `key count ${k}`);
  if (c.hostkey.length > MAX_HOSTKEY_DER) throw new ClaimError('MALFORMED', 'hostkey too long');
  const out = new Uint8Array(FIXED + k + IDENTITY_SIZE + POW_NONCE_SIZE + 2 + c.hostkey.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, c.version);
  v.setUint8(1, k);
  v.setUint32(4, c.roundMs);
  v.setBigUint64(8, BigInt(c.roundStart));
  let at = FIXED;
  out.set(c.proximities, at);
  at += k;
  out.set(c.identity, at);
  at += IDENTITY_SIZE;
  out.set(c.powNonce, at);
  at += POW_NONCE_SIZE;
  v.setUint16(at, c.hostkey.length);
  out.set(c.hostkey, at + 2);
  return out;
}

/** Build a claim; `sign` is the hostkey's RSASSA-PKCS1-v1_5/SHA-256. */
export function encodeClaim(c: Unsigned, sign: (data: Uint8Array) => Uint8Array): Uint8Array {
  const body = encodeUnsigned(c);
  return assembleClaim(body, sign(signedBytes(body, body.length)));
}

/** The unsigned body (encodeUnsigned) followed by the signature over signedBytes(body, body.length). */
export function assembleClaim(body: Uint8Array, sig: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2 + sig.length);
  out.set(body, 0);
  new DataView(out.buffer).setUint16(body.length, sig.length);
  out.set(sig, body.length + 2);
  return out;
}

export interface DecodedClaim {
  claim: Claim;
  /** Length of the signed prefix (see signedBytes). */
  signedLength: number;
}

/** Parse only: no policy, no crypto. Throws ClaimError('MALFORMED') on any layout problem. */
export function decodeClaim(data: Uint8Array): DecodedClaim {
  const bad = (why: string): never => {
    throw new ClaimError('MALFORMED', why);
  };
  if (data.length < FIXED + 1) bad(`${data.length} bytes is too short`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const k = v.getUint8(1);
  if (k < 1 || k > MAX_KEYS) bad(`key count ${k}`);
  const start = v.getBigUint64(8);
  if (start > BigInt(Number.MAX_SAFE_INTEGER)) bad('round start out of range');
  let at = FIXED;
  const take = (n: number, what: string): Uint8Array => {
    if (at + n > data.length) bad(`truncated in ${what}`);
    const out = data.slice(at, at + n);
    at += n;
    return out;
  };
  const proximities = take(k, 'proximities');
  const identity = take(IDENTITY_SIZE, 'identity');
  const powNonce = take(POW_NONCE_SIZE, 'pow nonce');
  const keyLen = new DataView(take(2, 'hostkey length').buffer).getUint16(0);
  if (keyLen === 0 || keyLen > MAX_HOSTKEY_DER) bad(`hostkey length ${keyLen}`);
  const hostkey = take(keyLen, 'hostkey');
  const signedLength = at;
  const sigLen = new DataView(take(2, 'signature length').buffer).getUint16(0);
  if (sigLen === 0 || sigLen > MAX_SIGNATURE) bad(`signature length ${sigLen}`);
  const signature = take(sigLen, 'signature');
  if (at !== data.length) bad(`${data.length - at} trailing bytes`);
  const claim: Claim = {
    version: v.getUint8(0),
    roundMs: v.getUint32(4),
    roundStart: Number(start),
    proximities,
    identity,
    powNonce,
    hostkey,
    signature,
  };
  return { claim, signedLength };
}
