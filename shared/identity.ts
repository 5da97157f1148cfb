// Peer identity = SHA-256 over the RSA public key as DER SubjectPublicKeyInfo (api-wire-format.md,
// "Hostkeys and identity"), plus hex helpers and PKCS#1 → SPKI wrapping. Browser-safe.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

/** 32-byte identity of a hostkey given as SPKI DER. */
export function identityOf(spkiDer: Uint8Array): Uint8Array {
  return sha256(spkiDer);
}

export function identityHex(spkiDer: Uint8Array): string {
  return toHex(identityOf(spkiDer));
}

/** Lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/** Strict hex decode: even length, [0-9a-fA-F] only; throws otherwise. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error(`bad hex string (length ${typeof hex === 'string' ? hex.length : typeof hex})`);
  }
  return hexToBytes(hex);
}

/** First 8 hex characters of an identity, for logs and UI. */
export function shortId(identity: Uint8Array): string {
  return toHex(identity.subarray(0, 4));
}

// ---- DER ----

const SEQUENCE = 0x30;
const BIT_STRING = 0x03;
const OID = 0x06;
/** 1.2.840.113549.1.1.1 rsaEncryption, content bytes. */
const RSA_ENCRYPTION = Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01);
/** AlgorithmIdentifier { rsaEncryption, NULL }. */
const RSA_ALGORITHM = Uint8Array.of(SEQUENCE, 0x0d, OID, 0x09, ...RSA_ENCRYPTION, 0x05, 0x00);

/** DER length octets (short form < 128, else long form). */
function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((a, p) => a + p.length, 0);
  const head = Uint8Array.of(tag, ...derLength(len));
  const out = new Uint8Array(head.length + len);
  out.set(head, 0);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads the header of the TLV at `at`; null if malformed or running past `end`. */
function readTlv(
  der: Uint8Array,
  at: number,
  end: number,
): { tag: number; body: number; end: number } | null {
  if (at + 2 > end) return null;
  const tag = der[at]!;
  let len = der[at + 1]!;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > end) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[body + i]!;
    body += n;
  }
  if (body + len > end) return null;
  return { tag, body, end: body + len };
}

/** Wraps a PKCS#1 RSAPublicKey DER into SubjectPublicKeyInfo DER. */
export function pkcs1ToSpki(der: Uint8Array): Uint8Array {
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== SEQUENCE || outer.end !== der.length) {
    throw new Error('not a DER RSAPublicKey (expected one SEQUENCE)');
  }
  return tlv(SEQUENCE, RSA_ALGORITHM, tlv(BIT_STRING, Uint8Array.of(0), der));
}

/** Heuristic: SEQUENCE { SEQUENCE { OID rsaEncryption ... } ... } spanning the whole input. */
export function isSpki(der: Uint8Array): boolean {
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== SEQUENCE || outer.end !== der.length) return false;
  const alg = readTlv(der, outer.body, outer.end);
  if (!alg || alg.tag !== SEQUENCE) return false;
  const oid = readTlv(der, alg.body, alg.end);
  if (!oid || oid.tag !== OID || oid.end - oid.body !== RSA_ENCRYPTION.length) return false;
  return RSA_ENCRYPTION.every((b, i) => der[oid.body + i] === b);
}

/** A hostkey as received (SPKI or PKCS#1 DER) in SPKI form, the form that is sent and hashed. */
export function toSpki(der: Uint8Array): Uint8Array {
  return isSpki(der) ? der : pkcs1ToSpki(der);
}
