// NSE claim codec and policy: round arithmetic, layout rules, and every forged-claim rule by its code.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Hostkey, hostkeyFromPem } from '../../relay/hostkey.ts';
import { findPow } from '../../relay/p2p/pow.ts';
import { type Claim, CLAIM_VERSION, ClaimError, decodeClaim, encodeClaim } from '../../relay/nse/claim.ts';
import {
  matchingBits,
  proximities,
  roundKey,
  roundKeys,
  roundStart,
  sendDelay,
} from '../../relay/nse/round.ts';
import { authenticate, checkRound, KeyCache, type VerifyParams } from '../../relay/nse/verify.ts';
import { getKeys } from '../keypool.ts';

const P: VerifyParams = { roundMs: 10_000, keys: 4, powBits: 8, skewMs: 1000 };
const START = 1_700_000_000_000;
let k0: Hostkey;
let k1: Hostkey;

beforeAll(async () => {
  const [a, b] = await getKeys(2);
  k0 = hostkeyFromPem(readFileSync(a!, 'utf8'));
  k1 = hostkeyFromPem(readFileSync(b!, 'utf8'));
});

async function claimOf(key: Hostkey, over: Partial<Claim> = {}, signer: Hostkey = key): Promise<Uint8Array> {
  const base = {
    version: CLAIM_VERSION,
    roundMs: P.roundMs,
    roundStart: START,
    proximities: proximities(key.identity, roundKeys(START, P)),
    identity: key.identity,
    powNonce: await findPow(key.identity, P.powBits),
    hostkey: key.spkiDer,
  };
  return encodeClaim({ ...base, ...over }, (d) => signer.sign(d));
}

function codeOf(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof ClaimError) return e.code;
    throw e;
  }
}

function check(data: Uint8Array, now = START + 1, cache?: KeyCache): string {
  return codeOf(() => {
    const { claim, signedLength } = decodeClaim(data);
    checkRound(claim, P, now);
    authenticate(claim, data, signedLength, P, cache);
  });
}

describe('round arithmetic', () => {
  it('matchingBits counts leading equal bits', () => {
    expect(matchingBits(Uint8Array.of(0xff, 0), Uint8Array.of(0xff, 0))).toBe(16);
    expect(matchingBits(Uint8Array.of(0x80), Uint8Array.of(0x00))).toBe(0);
    expect(matchingBits(Uint8Array.of(0xf0, 0x0f), Uint8Array.of(0xf0, 0x1f))).toBe(11);
  });
  it('rounds align to the wall clock and keys differ per round and index', () => {
    expect(roundStart(START + 9_999, 10_000)).toBe(START);
    expect(roundKey(START, 10_000, 0)).toEqual(roundKey(START, 10_000, 0));
    expect(roundKey(START, 10_000, 0)).not.toEqual(roundKey(START, 10_000, 1));
    expect(roundKey(START, 10_000, 0)).not.toEqual(roundKey(START + 10_000, 10_000, 0));
  });
  it('better claims are sent earlier, all within the window', () => {
    const d = [0, 5, 10, 15, 30].map((p) => sendDelay(p, 10, 1000));
    for (let i = 1; i < d.length; i++) expect(d[i]!).toBeLessThan(d[i - 1]!);
    for (const x of d) expect(x > 0 && x < 1000).toBe(true);
  });
});

describe('claim codec', () => {
  it('round-trips', async () => {
    const data = await claimOf(k0);
    const { claim } = decodeClaim(data);
    expect(claim.roundStart).toBe(START);
    expect(claim.identity).toEqual(k0.identity);
    expect(claim.hostkey).toEqual(k0.spkiDer);
    expect(claim.signature.length).toBe(512);
  });
  it('rejects truncation and trailing bytes at every length', async () => {
    const data = await claimOf(k0);
    for (let n = 0; n < data.length; n += 37)
      expect(codeOf(() => decodeClaim(data.subarray(0, n)))).toBe('MALFORMED');
    const longer = new Uint8Array(data.length + 1);
    longer.set(data);
    expect(codeOf(() => decodeClaim(longer))).toBe('MALFORMED');
  });
  it('rejects a key count of 0 or above the maximum', async () => {
    const data = await claimOf(k0);
    for (const k of [0, 17, 255]) {
      const bad = data.slice();
      bad[1] = k;
      expect(codeOf(() => decodeClaim(bad))).toBe('MALFORMED');
    }
  });
  it('any byte string decodes or raises ClaimError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (b) => {
        expect(['ok', 'MALFORMED']).toContain(codeOf(() => decodeClaim(b)));
      }),
    );
  });
});

describe('claim policy', () => {
  it('accepts a genuine claim for the current round', async () => {
    expect(check(await claimOf(k0))).toBe('ok');
  });
  it('accepts within the clock-skew allowance and refuses beyond it', async () => {
    const data = await claimOf(k0);
    expect(check(data, START - 500)).toBe('ok');
    expect(check(data, START - 1001)).toBe('FUTURE_ROUND');
    // Late claims of the previous round are still genuine; older ones are replays.
    expect(check(data, START + 20_999)).toBe('ok');
    expect(check(data, START + 21_000)).toBe('STALE_ROUND');
  });
  it('refuses a replayed claim of an old round', async () => {
    expect(check(await claimOf(k0), START + 5 * P.roundMs)).toBe('STALE_ROUND');
  });
  it('refuses other parameters', async () => {
    expect(check(await claimOf(k0, { roundMs: 5000 }))).toBe('PARAMS');
    expect(check(await claimOf(k0, { version: 2 }))).toBe('PARAMS');
    expect(check(await claimOf(k0, { roundStart: START + 1 }))).toBe('PARAMS');
    expect(check(await claimOf(k0, { proximities: new Uint8Array(3) }))).toBe('PARAMS');
  });
  it('refuses bad proof of work', async () => {
    const pow = await findPow(k0.identity, P.powBits);
    // A nonce that fails: try neighbours of the real one until one has fewer zero bits.
    const bad = pow.slice();
    for (bad[7] = 0; ; bad[7]!++) if (check(await claimOf(k0, { powNonce: bad })) === 'BAD_POW') break;
    expect(check(await claimOf(k0, { powNonce: bad }))).toBe('BAD_POW');
  });
  it('refuses a bad signature', async () => {
    const data = await claimOf(k0);
    data[data.length - 10]! ^= 1;
    expect(check(data)).toBe('BAD_SIGNATURE');
    expect(check(await claimOf(k0, {}, k1))).toBe('BAD_SIGNATURE');
  });
  it('refuses an identity that is not the hostkey hash', async () => {
    expect(check(await claimOf(k0, { hostkey: k1.spkiDer }))).toBe('IDENTITY_MISMATCH');
  });
  it('refuses inflated proximities', async () => {
    const real = proximities(k0.identity, roundKeys(START, P));
    const inflated = real.map((p) => p + 10);
    expect(check(await claimOf(k0, { proximities: inflated }))).toBe('PROXIMITY_MISMATCH');
  });
  it('with a key cache: the same verdicts, whatever was cached before', async () => {
    const cache = new KeyCache(4);
    expect(check(await claimOf(k0), START + 1, cache)).toBe('ok');
    expect(cache.get(k0.identity)).toBeDefined();
    // The cached identity with another key's bytes, or a bad signature, is still refused.
    expect(check(await claimOf(k0, { hostkey: k1.spkiDer }), START + 1, cache)).toBe('IDENTITY_MISMATCH');
    expect(check(await claimOf(k0, {}, k1), START + 1, cache)).toBe('BAD_SIGNATURE');
    // PKCS#1 bytes of the cached key: parsed again, same identity, accepted.
    const pkcs1 = new Uint8Array(k0.publicKey.export({ format: 'der', type: 'pkcs1' }));
    expect(check(await claimOf(k0, { hostkey: pkcs1 }), START + 1, cache)).toBe('ok');
    // Bounded: the oldest entry goes first.
    for (let i = 0; i < 4; i++) cache.set(Uint8Array.of(i), k1.publicKey);
    expect(cache.get(k0.identity)).toBeUndefined();
  });
  it('refuses a hostkey that is no RSA key', async () => {
    const junk = new Uint8Array(100).fill(0x30);
    expect(check(await claimOf(k0, { hostkey: junk }))).toBe('BAD_KEY');
  });
});
