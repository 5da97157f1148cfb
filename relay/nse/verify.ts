// Claim policy: cheap checks first (parameters, round freshness), the costly ones (RSA) last, so junk
// costs a receiver little. Throws ClaimError with the reason; returns nothing when the claim holds.
import { timingSafeEqual } from 'node:crypto';
import { identityOfDer, publicKeyFromDer, verifySignature } from '../hostkey.ts';
import { checkPow } from '../p2p/pow.ts';
import { type Claim, CLAIM_VERSION, ClaimError, signedBytes } from './claim.ts';
import { proximities, type RoundParams, roundKeys } from './round.ts';

export interface VerifyParams extends RoundParams {
  /** Leading zero bits required of SHA-256(identity || nonce). */
  readonly powBits: number;
  /** Allowance for clocks that disagree: claims this early or late are still accepted. */
  readonly skewMs: number;
}

/** Hostkeys outside this range are refused (tiny keys are forgeable, huge ones slow to verify). */
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 4096;

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

/** Hostkey, identity, proximities, proof of work and signature. */
export function authenticate(c: Claim, data: Uint8Array, signedLength: number, p: VerifyParams): void {
  let spki: Uint8Array;
  let key: ReturnType<typeof publicKeyFromDer>;
  try {
    key = publicKeyFromDer(c.hostkey);
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (key.asymmetricKeyType !== 'rsa' || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS)
      throw new Error(`${bits} bits`);
    spki = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
  } catch (e) {
    throw new ClaimError('BAD_KEY', (e as Error).message);
  }
  if (!timingSafeEqual(identityOfDer(spki), c.identity)) {
    throw new ClaimError('IDENTITY_MISMATCH', 'identity is not SHA-256 of the hostkey');
  }
  const real = proximities(c.identity, roundKeys(c.roundStart, p));
  if (!real.every((x, k) => x === c.proximities[k])) {
    throw new ClaimError('PROXIMITY_MISMATCH', `claimed [${c.proximities}], identity has [${real}]`);
  }
  if (!checkPow(c.identity, c.powNonce, p.powBits))
    throw new ClaimError('BAD_POW', `needs ${p.powBits} bits`);
  if (!verifySignature(key, signedBytes(data, signedLength), c.signature)) {
    throw new ClaimError('BAD_SIGNATURE', 'signature does not verify');
  }
}
