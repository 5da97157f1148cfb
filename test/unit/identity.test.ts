import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  fromHex,
  identityHex,
  identityOf,
  isSpki,
  pkcs1ToSpki,
  shortId,
  toHex,
  toSpki,
} from '../../shared/identity.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ALG = '300d06092a864886f70d0101010500';

function rsaDer(bits: number): { pkcs1: Uint8Array; spki: Uint8Array } {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    pkcs1: new Uint8Array(publicKey.export({ type: 'pkcs1', format: 'der' })),
    spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
  };
}

describe('hex helpers', () => {
  it('toHex is lower case, fromHex accepts either case', () => {
    expect(toHex(Uint8Array.of(0, 0xab, 0xff))).toBe('00abff');
    expect(fromHex('00ABff')).toEqual(Uint8Array.of(0, 0xab, 0xff));
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });
  for (const bad of ['abc', 'zz', '0x00', ' 00', '00 ', 'g0', '+1']) {
    it(`fromHex rejects ${JSON.stringify(bad)}`, () => expect(() => fromHex(bad)).toThrow());
  }
  it('shortId is the first 8 hex characters', () => {
    const id = fromHex('deadbeef0123456789');
    expect(shortId(id)).toBe('deadbeef');
  });
});

describe('pkcs1ToSpki / isSpki', () => {
  for (const bits of [1024, 2048]) {
    it(`matches node's SPKI export for a real RSA-${bits} key`, () => {
      const { pkcs1, spki } = rsaDer(bits);
      const ours = pkcs1ToSpki(pkcs1);
      expect(hex(ours)).toBe(hex(spki));
      expect(isSpki(spki)).toBe(true);
      expect(isSpki(pkcs1)).toBe(false);
      expect(toSpki(pkcs1)).toEqual(spki);
      expect(toSpki(spki)).toBe(spki);
      // Node can load what we built.
      const key = createPublicKey({ key: Buffer.from(ours), format: 'der', type: 'spki' });
      expect(key.asymmetricKeyType).toBe('rsa');
    });
  }

  it('uses short-form lengths for tiny keys (hand-built bytes)', () => {
    // RSAPublicKey-shaped SEQUENCE { INTEGER 5 } of 5 bytes.
    expect(hex(pkcs1ToSpki(fromHex('3003020105')))).toBe(`3017${ALG}0306003003020105`);
  });

  it('uses 0x81 long-form lengths at the 128-byte boundary', () => {
    // SEQUENCE of 200 content bytes: 30 81 c8 + 200 = 203 bytes.
    const pkcs1 = new Uint8Array(203);
    pkcs1.set([0x30, 0x81, 0xc8]);
    const spki = pkcs1ToSpki(pkcs1);
    // BIT STRING length 204 = 0x81 cc; outer length 15 + 3 + 204 = 222 = 0x81 de.
    expect(hex(spki.subarray(0, 3 + 15 + 4))).toBe(`3081de${ALG}0381cc00`);
    expect(spki.length).toBe(3 + 222);
    expect(isSpki(spki)).toBe(true);
  });

  it('uses 0x82 long-form lengths past 255 bytes', () => {
    const pkcs1 = new Uint8Array(4 + 300);
    pkcs1.set([0x30, 0x82, 0x01, 0x2c]);
    const spki = pkcs1ToSpki(pkcs1);
    // BIT STRING 305 = 0x0131; outer 15 + 4 + 305 = 324 = 0x0144.
    expect(hex(spki.subarray(0, 4 + 15 + 5))).toBe(`30820144${ALG}0382013100`);
    expect(spki.length).toBe(4 + 324);
  });

  it('rejects input that is not one DER SEQUENCE', () => {
    for (const bad of ['', '30', '3005020105', '0203010001', '300302010500']) {
      expect(() => pkcs1ToSpki(fromHex(bad))).toThrow();
    }
  });

  it('isSpki is false for junk', () => {
    for (const bad of ['', '30', '3000', `3011${ALG.replace('01010105', '01010b05')}0000`, '3003020105']) {
      expect(isSpki(fromHex(bad))).toBe(false);
    }
    // Right structure with a different algorithm (sha256WithRSA OID 1.2.840.113549.1.1.11).
    expect(isSpki(fromHex(`3011300d06092a864886f70d01010b05000300`))).toBe(false);
  });
});

describe('identity', () => {
  it('is SHA-256 over the SPKI DER', () => {
    const { spki } = rsaDer(1024);
    const expected = createHash('sha256').update(spki).digest('hex');
    expect(hex(identityOf(spki))).toBe(expected);
    expect(identityHex(spki)).toBe(expected);
    expect(shortId(identityOf(spki))).toBe(expected.slice(0, 8));
  });

  it('known vector: SHA-256 of empty input', () => {
    expect(identityHex(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});
