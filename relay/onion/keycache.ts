// Parsing an RSA-4096 DER costs more than verifying with it, and the same few hundred peers come back
// again and again (RPS answers, BUILD requests, certs), so parsed hostkeys are cached (bounded LRU).
import type { KeyObject } from 'node:crypto';
import { identityOfDer, publicKeyFromDer } from '../hostkey.ts';

export interface ParsedHostkey {
  key: KeyObject;
  spki: Uint8Array;
  identity: Uint8Array;
  idHex: string;
}

const MAX = 4096;
const cache = new Map<string, ParsedHostkey>();

/** Parse an RSA public key (SPKI or PKCS#1 DER); throws on anything else. */
export function parseHostkey(der: Uint8Array): ParsedHostkey {
  const k = Buffer.from(der).toString('base64');
  const hit = cache.get(k);
  if (hit) {
    cache.delete(k);
    cache.set(k, hit);
    return hit;
  }
  const key = publicKeyFromDer(der);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA public key');
  const spki = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
  const identity = identityOfDer(spki);
  const v = { key, spki, identity, idHex: Buffer.from(identity).toString('hex') };
  cache.set(k, v);
  if (cache.size > MAX) cache.delete(cache.keys().next().value!);
  return v;
}
