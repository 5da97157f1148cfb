// Private presence records, published through Gossip once per round.
//
// Only holders of a user's public key (their friends) can read where the user is; the public tag
// changes every round, so records of different rounds can't be linked by anyone else; the hostkey
// signature sits inside the ciphertext, so it doesn't identify the sender either. Layout: see
// docs/client.md "Presence record".
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { bytesToIp, ipToBytes } from '../../../../shared/address.ts';
import { toBase64Url } from '../crypto/b64.ts';
import { ByteReader, concatBytes, u16, u32, u64, utf8 } from '../crypto/bytes.ts';
import { verifyHostkeySignature } from '../crypto/rsa.ts';

/** Gossip data type of presence records ("VP"). */
export const PRESENCE_DATA_TYPE = 0x5650;
export const PRESENCE_VERSION = 1;
const TAG_BYTES = 16;
const NONCE_BYTES = 24;
const HEADER_BYTES = 1 + 4 + TAG_BYTES + NONCE_BYTES;
/** Plaintext is padded to this size so every record has the same length (v4/v6, key sizes). */
const PLAINTEXT_BYTES = 640;
export const PRESENCE_RECORD_BYTES = HEADER_BYTES + PLAINTEXT_BYTES + 16;
/** Clock skew tolerated between peers. */
export const SKEW_MS = 5_000;

export interface PresenceKeys {
  enc: Uint8Array;
  tag: Uint8Array;
}

const keyCache = new Map<string, PresenceKeys>();

/** Keys anyone holding the SPKI can derive — and nobody else. */
export function presenceKeys(spki: Uint8Array): PresenceKeys {
  const id = toBase64Url(sha256(spki));
  let keys = keyCache.get(id);
  if (!keys) {
    const okm = hkdf(sha256, spki, utf8('VoidPhone presence v1'), utf8('enc+tag'), 64);
    keys = { enc: okm.slice(0, 32), tag: okm.slice(32) };
    if (keyCache.size > 1024) keyCache.clear();
    keyCache.set(id, keys);
  }
  return keys;
}

export function roundTag(keys: PresenceKeys, round: number): Uint8Array {
  return hmac(sha256, keys.tag, concatBytes(utf8('round'), u32(round))).slice(0, TAG_BYTES);
}

export function roundOf(nowMs: number, roundMs: number): number {
  return Math.floor(nowMs / roundMs);
}

export interface PresenceInfo {
  round: number;
  timestamp: number;
  host: string;
  port: number;
}

/** The bytes the hostkey signs (the bridge adds the "presence" prefix). */
function toSign(header: Uint8Array, info: PresenceInfo): Uint8Array {
  const ip = ipToBytes(info.host);
  return concatBytes(
    header.subarray(0, 1 + 4 + TAG_BYTES),
    u64(info.timestamp),
    u16(info.port),
    Uint8Array.of(ip.length),
    ip,
  );
}

export async function sealPresence(
  ownSpki: Uint8Array,
  info: PresenceInfo,
  sign: (data: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const keys = presenceKeys(ownSpki);
  const nonce = randomBytes(NONCE_BYTES);
  const header = concatBytes(
    Uint8Array.of(PRESENCE_VERSION),
    u32(info.round),
    roundTag(keys, info.round),
    nonce,
  );
  const signed = toSign(header, info);
  const sig = await sign(signed);
  const body = concatBytes(signed.subarray(1 + 4 + TAG_BYTES), u16(sig.length), sig);
  if (body.length > PLAINTEXT_BYTES) throw new Error('presence record too large');
  const plaintext = new Uint8Array(PLAINTEXT_BYTES);
  plaintext.set(body);
  return concatBytes(header, xchacha20poly1305(keys.enc, nonce, header).encrypt(plaintext));
}

/** Public check anyone can do (used for Gossip VALIDATION): version, size, round near now. */
export function checkPresenceShape(
  data: Uint8Array,
  currentRound: number,
): { round: number; tag: Uint8Array } | null {
  if (data.length !== PRESENCE_RECORD_BYTES || data[0] !== PRESENCE_VERSION) return null;
  const round = new DataView(data.buffer, data.byteOffset + 1, 4).getUint32(0);
  if (round < currentRound - 1 || round > currentRound + 1) return null;
  return { round, tag: data.slice(5, 5 + TAG_BYTES) };
}

export type OpenResult = { ok: true; info: PresenceInfo } | { ok: false; reason: string };

/** Decrypts and verifies a record believed (by its tag) to come from `spki`. Never throws. */
export async function openPresence(
  data: Uint8Array,
  spki: Uint8Array,
  nowMs: number,
  roundMs: number,
): Promise<OpenResult> {
  const shape = checkPresenceShape(data, roundOf(nowMs, roundMs));
  if (!shape) return { ok: false, reason: 'bad shape or stale round' };
  const keys = presenceKeys(spki);
  let plaintext: Uint8Array;
  try {
    const header = data.subarray(0, HEADER_BYTES);
    plaintext = xchacha20poly1305(keys.enc, data.slice(5 + TAG_BYTES, HEADER_BYTES), header).decrypt(
      data.subarray(HEADER_BYTES),
    );
  } catch {
    return { ok: false, reason: 'cannot decrypt (wrong key or tampered)' };
  }
  let info: PresenceInfo;
  let sig: Uint8Array;
  try {
    const r = new ByteReader(plaintext);
    const timestamp = r.u64();
    const port = r.u16();
    const ipLen = r.u8();
    if (ipLen !== 4 && ipLen !== 16) return { ok: false, reason: 'bad address length' };
    const host = bytesToIp(r.bytes(ipLen));
    sig = r.bytes(r.u16());
    if (r.rest().some((b) => b !== 0)) return { ok: false, reason: 'bad padding' };
    info = { round: shape.round, timestamp, host, port };
  } catch {
    return { ok: false, reason: 'malformed plaintext' };
  }
  const roundStart = shape.round * roundMs;
  if (info.timestamp < roundStart - SKEW_MS || info.timestamp > roundStart + roundMs + SKEW_MS) {
    return { ok: false, reason: 'timestamp outside its round' };
  }
  if (Math.abs(nowMs - info.timestamp) > 2 * roundMs + SKEW_MS) return { ok: false, reason: 'stale' };
  const ok = await verifyHostkeySignature(
    spki,
    'presence',
    toSign(data.subarray(0, HEADER_BYTES), info),
    sig,
  );
  return ok ? { ok: true, info } : { ok: false, reason: 'bad signature' };
}
