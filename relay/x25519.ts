// X25519 key pairs on node:crypto.
//
// Never export a key made by generateKeyPair(Sync) as JWK. On Node 20 the job object that made a key
// shares that key's lock, and the JWK export of an X25519 key allocates strings while holding it. When
// that allocation starts a garbage collection which collects the finished job, the job's destructor
// waits for the same lock: the process hangs for good, without a word (seen as a Vitest worker stuck
// in ~KeyGenJob under ExportJWKEdKey; a loop of generate + JWK export hangs within 50,000 keys here).
// The DER export takes no lock (300,000 keys, no hang) and costs ~50 us.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface X25519Pair {
  readonly privateKey: KeyObject;
  /** Raw 32-byte public key. */
  readonly pub: Uint8Array;
}

/** The raw key: the last 32 bytes of its 44-byte SPKI DER. */
function rawPublic(k: KeyObject): Uint8Array {
  return new Uint8Array(k.export({ format: 'der', type: 'spki' }).subarray(12));
}

/** A pair from a raw 32-byte private scalar (tests, persistence; parsing PKCS#8 costs ~300 us). */
export function x25519FromPrivate(raw: Uint8Array): X25519Pair {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, pub: rawPublic(createPublicKey(privateKey)) };
}

/** A fresh random pair. */
export function x25519Generate(): X25519Pair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey, pub: rawPublic(publicKey) };
}

/** Parse a raw X25519 public key (null if it is not 32 bytes or does not parse). Importing JWK is safe
 * (a new key, no job behind it) and costs ~5 us, against ~110 us for OpenSSL 3's DER decoder. */
export function x25519Public(pub: Uint8Array): KeyObject | null {
  if (pub.length !== 32) return null;
  try {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(pub).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}
