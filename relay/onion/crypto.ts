// Crypto primitives of the onion module, all on node:crypto (OpenSSL): X25519, HKDF/HMAC-SHA256,
// the ntor one-round-trip handshake (Tor proposal 216). Link records are in linkcrypto.ts.
import { type X25519Pair, x25519Generate, x25519Public } from '../x25519.ts';
import {
  createCipheriv,
  createHmac,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';

export { type X25519Pair, x25519FromPrivate, x25519Generate, x25519Public } from '../x25519.ts';

/** X25519(priv, pub); null when the peer's point is invalid or gives the all-zero secret. */
export function x25519(priv: KeyObject, pub: Uint8Array | KeyObject): Uint8Array | null {
  const publicKey = pub instanceof Uint8Array ? x25519Public(pub) : pub;
  if (!publicKey) return null;
  try {
    const out = new Uint8Array(diffieHellman({ privateKey: priv, publicKey }));
    return out.every((b) => b === 0) ? null : out;
  } catch {
    return null;
  }
}

export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hkdf(ikm: Uint8Array, info: string, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, new Uint8Array(0), info, length));
}

export function ctEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

const enc = (s: string) => new TextEncoder().encode(s);

// ---- ntor (Tor proposal 216), with our own protocol id ----
const PROTOID = 'voidphone-ntor-x25519-sha256-1';
const T_MAC = enc(`${PROTOID}:mac`);
const T_KEY = enc(`${PROTOID}:key_extract`);
const T_VERIFY = enc(`${PROTOID}:verify`);
const SERVER = enc('Server');

function ntorFinish(
  xy: Uint8Array,
  xb: Uint8Array,
  id: Uint8Array,
  B: Uint8Array,
  X: Uint8Array,
  Y: Uint8Array,
) {
  const secret = concat(xy, xb, id, B, X, Y, enc(PROTOID));
  const keySeed = hmac(T_KEY, secret);
  const verify = hmac(T_VERIFY, secret);
  const auth = hmac(T_MAC, verify, id, B, Y, X, enc(PROTOID), SERVER);
  return { keySeed, auth };
}

/** Server side: answers a client's X with (Y, auth) and derives the key seed. null on a bad X. */
export function ntorServer(
  onionKey: X25519Pair,
  identity: Uint8Array,
  X: Uint8Array,
): { Y: Uint8Array; auth: Uint8Array; keySeed: Uint8Array; xy: Uint8Array } | null {
  const Xk = x25519Public(X);
  if (!Xk) return null;
  const eph = x25519Generate();
  const xy = x25519(eph.privateKey, Xk);
  const xb = x25519(onionKey.privateKey, Xk);
  if (!xy || !xb) return null;
  const { keySeed, auth } = ntorFinish(xy, xb, identity, onionKey.pub, X, eph.pub);
  return { Y: eph.pub, auth, keySeed, xy };
}

/** AES-256-CTR with a key derived from a DH output (hides the link handshake's identity fields). */
export function handshakeCipher(xy: Uint8Array, data: Uint8Array): Uint8Array {
  const k = hkdf(xy, 'voidphone link handshake hiding v1', 48);
  const c = createCipheriv('aes-256-ctr', k.subarray(0, 32), k.subarray(32, 48));
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

/** Client side: checks the server's auth; returns the key seed, or null if it does not hold B. */
export function ntorClient(
  eph: X25519Pair,
  identity: Uint8Array,
  B: Uint8Array,
  Y: Uint8Array,
  auth: Uint8Array,
): Uint8Array | null {
  const xy = x25519(eph.privateKey, Y);
  const xb = x25519(eph.privateKey, B);
  if (!xy || !xb) return null;
  const r = ntorFinish(xy, xb, identity, B, eph.pub, Y);
  return ctEqual(r.auth, auth) ? r.keySeed : null;
}

// ---- link records (linkcrypto.ts) ----
/** The tag of a link record, in the trailer of its last 240-byte unit. */
export const TAG_SIZE = 16;
