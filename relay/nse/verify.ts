// Claim policy: cheap checks first (parameters, round freshness), the costly ones (RSA) last, so junk
// costs a receiver little. Throws ClaimError with the reason; returns nothing when the claim holds.
import { type KeyObject, timingSafeEqual } from 'node:crypto';
import { checkPeerKey, identityOfDer, publicKeyFromDer, verifySignature } from '../hostkey.ts';
import { checkPow } from '../p2p/pow.ts';
import { type Claim, CLAIM_VERSION, ClaimError, signedBytes } from './claim.ts';
import { proximities, type RoundParams, roundKeys } from './round.ts';

export interface VerifyParams extends RoundParams {
  /** Leading zero bits required of SHA-256(identity || nonce). */
  readonly powBits: number;
  /** Allowance for clocks that disagree: claims this early or late are still accepted. */
  readonly skewMs: number;
}

/** Version, key count and round length must be ours; the round must be the current or previous one (± skew). */
export function checkRound(c: Claim, p: VerifyParams, now: number): void {
  if (c.version !== CLAIM_VERSION) throw new ClaimError('PARAMS', `version ${c.version}`);
  if (c.proximities.length !== p.keys)
    throw new ClaimError('PARAMS', `${c.proximities.length} keys, we use ${p.keys}`);
  if (c.roundMs !== p.roundMs)
    throw new ClaimError('PARAMS', `round of ${c.roundMs} ms, we use ${p.roundMs}`);
  if (c.roundStart % p.roundMs !== 0) throw new ClaimError('PARAMS', 'round start not aligned');
  if (c.roundStart - p.skewMs > now)
    throw new ClaimError('FUTURE_ROUND', `round ${c.roundStart} starts later`);
  // The previous round's claims are still genuine (a slow flood): valid, though they no longer count.
  if (c.roundStart + 2 * p.roundMs + p.skewMs <= now)
    throw new ClaimError('STALE_ROUND', `round ${c.roundStart} is over`);
}

/**
 * Hostkeys of genuine claims (RSA, size in range, signature verified), by identity. The identity is the
 * hash of the DER, so a hit binds the exact key. Parsing an RSA-4096 DER costs more than verifying a
 * signature with it, and the same few peers win rounds again and again. Bounded; the least recently
 * used entry goes first.
 */
export class KeyCache {
  private readonly keys = new Map<string, KeyObject>();

  constructor(readonly capacity = 1024) {}

  get(identity: Uint8Array): KeyObject | undefined {
    return this.keys.get(Buffer.from(identity).toString('hex'));
  }

  set(identity: Uint8Array, key: KeyObject): void {
    const id = Buffer.from(identity).toString('hex');
    this.keys.delete(id);
    this.keys.set(id, key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.keys().next().value!);
  }
}

/**
 * Proximities, proof of work, hostkey and identity, signature: the hash checks first, so a forgery
 * costs us no RSA work unless it carries a real identity with its proof of work.
 */
export function authenticate(
  c: Claim,
  data: Uint8Array,
  signedLength: number,
  p: VerifyParams,
  cache?: KeyCache,
): void {
  const real = proximities(c.identity, roundKeys(c.roundStart, p));
  if (!real.every((x, k) => x === c.proximities[k])) {
    throw new ClaimError('PROXIMITY_MISMATCH', `claimed [${c.proximities}], identity has [${real}]`);
  }
  if (!checkPow(c.identity, c.powNonce, p.powBits))
    throw new ClaimError('BAD_POW', `needs ${p.powBits} bits`);
  const key = hostkeyOf(c, cache);
  if (!verifySignature(key, signedBytes(data, signedLength), c.signature)) {
    throw new ClaimError('BAD_SIGNATURE', 'signature does not verify');
  }
  // Only keys that signed a genuine claim are kept: junk cannot crowd honest keys out for free.
  cache?.set(c.identity, key);
}

/** The claim's hostkey, checked to be RSA of an accepted size and to hash to the claimed identity. */
function hostkeyOf(c: Claim, cache: KeyCache | undefined): KeyObject {
  // Seen before: the bytes must still hash to the identity (then they are the key we checked).
  const cached = cache?.get(c.identity);
  if (cached && timingSafeEqual(identityOfDer(c.hostkey), c.identity)) return cached;
  let key: KeyObject;
  let spki: Uint8Array;
  try {
    key = publicKeyFromDer(c.hostkey);
    checkPeerKey(key); // RSA, e = 65537 (a free e would grind identities for proximity), 2048-4096 bits
    // The identity is the hash of the canonical SPKI, whatever encoding the claim carried.
    spki = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
  } catch (e) {
    throw new ClaimError('BAD_KEY', (e as Error).message);
  }
  if (!timingSafeEqual(identityOfDer(spki), c.identity)) {
    throw new ClaimError('IDENTITY_MISMATCH', 'identity is not SHA-256 of the hostkey');
  }
  return key;
}
