// Peers' hostkeys: RSA with e = 65537 and 2048 to 4096 bits, nothing else (CPU attacks, free identities).
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkPeerKey, loadHostkey, toSpkiDer } from '../../relay/hostkey.ts';
import { getKeys } from '../keypool.ts';

const rsa = (modulusLength: number, publicExponent = 65537) =>
  generateKeyPairSync('rsa', {
    modulusLength,
    publicExponent,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  }).publicKey;

describe('checkPeerKey', () => {
  it('accepts the hostkeys relays make, and 2048-bit keys with e = 65537', async () => {
    const hk = await loadHostkey((await getKeys(1))[0]!);
    expect(() => checkPeerKey(hk.publicKey)).not.toThrow();
    expect(Buffer.from(toSpkiDer(hk.spkiDer))).toEqual(Buffer.from(hk.spkiDer));
    expect(() =>
      checkPeerKey(createPublicKey({ key: rsa(2048), format: 'der', type: 'spki' })),
    ).not.toThrow();
  });

  it('refuses another exponent, a small modulus and non-RSA keys', () => {
    const e3 = rsa(2048, 3);
    expect(() => toSpkiDer(e3)).toThrow(/exponent 3/);
    expect(() => toSpkiDer(rsa(1024))).toThrow(/1024 bits/);
    const ec = generateKeyPairSync('ec', {
      namedCurve: 'prime256v1',
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    }).publicKey;
    expect(() => checkPeerKey(createPublicKey({ key: ec, format: 'der', type: 'spki' }))).toThrow(/RSA/);
  });
});
