// Sealing and opening presence items (layout: shared/presence/layout.ts; design and reasons:
// docs/threat-model.md "Presence"). Three kinds, alike to anyone without the right secret:
//   record    — where we are this round, under our presence secret, signed by our hostkey;
//   key item  — our current presence secret for one friend, under that pair's X25519 secret;
//   dummy     — random bytes, when we have no friend to send a key item to.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  checkPresenceShape,
  dummyItem,
  encodeHeader,
  encodeSignedPresence,
  HEADER_BYTES,
  KIND_KEY,
  KIND_RECORD,
  NONCE_BYTES,
  PLAINTEXT_BYTES,
  PRESENCE_DATA_TYPE,
  PRESENCE_ITEM_BYTES,
  PRESENCE_VERSION,
  type PresenceHeader,
  parseSignedPresence,
  roundOf,
  SKEW_MS,
  slotOf,
} from '../../../../shared/presence/layout.ts';
import { ByteReader, concatBytes, u16, u32 } from '../crypto/bytes.ts';
import { verifyHostkeySignature } from '../crypto/rsa.ts';
import { type RoundKeys, recordKeys, roundKey, roundTag } from './keys.ts';

export { dummyItem, PRESENCE_DATA_TYPE, PRESENCE_ITEM_BYTES, PRESENCE_VERSION, roundOf, SKEW_MS, slotOf };
/** Old name: every presence item has this size. */
export const PRESENCE_RECORD_BYTES = PRESENCE_ITEM_BYTES;

export interface PresenceInfo {
  round: number;
  /** Half of the round it was sent in (decides the tag; defaults to the timestamp's). */
  slot?: number;
  timestamp: number;
  host: string;
  port: number;
}

function seal(keys: RoundKeys, round: number, slot: number, body: Uint8Array): Uint8Array {
  if (body.length > PLAINTEXT_BYTES) throw new Error('presence item too large');
  const header = encodeHeader({
    version: PRESENCE_VERSION,
    round,
    tag: roundTag(keys, round, slot),
    nonce: randomBytes(NONCE_BYTES),
  });
  return sealWithHeader(keys, header, body);
}

function sealWithHeader(keys: RoundKeys, header: Uint8Array, body: Uint8Array): Uint8Array {
  const plaintext = new Uint8Array(PLAINTEXT_BYTES);
  plaintext.set(body);
  const round = new DataView(header.buffer, header.byteOffset + 1, 4).getUint32(0);
  const nonce = header.subarray(HEADER_BYTES - NONCE_BYTES, HEADER_BYTES);
  return concatBytes(header, xchacha20poly1305(roundKey(keys, round), nonce, header).encrypt(plaintext));
}

/** Decrypts an item whose header passed the shape check; null if the key is wrong or a byte changed. */
function unseal(keys: RoundKeys, data: Uint8Array, h: PresenceHeader): Uint8Array | null {
  try {
    const header = data.subarray(0, HEADER_BYTES);
    return xchacha20poly1305(roundKey(keys, h.round), h.nonce, header).decrypt(data.subarray(HEADER_BYTES));
  } catch {
    return null;
  }
}

/** Our record for one round: the hostkey signs header ‖ timestamp ‖ address (nonce and tag included). */
export async function sealPresence(
  secret: Uint8Array,
  info: PresenceInfo,
  sign: (data: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const keys = recordKeys(secret);
  const header = {
    version: PRESENCE_VERSION,
    round: info.round,
    tag: roundTag(keys, info.round, info.slot ?? 0),
    nonce: randomBytes(NONCE_BYTES),
  };
  const signed = encodeSignedPresence({
    header,
    timestamp: info.timestamp,
    host: info.host,
    port: info.port,
  });
  const sig = await sign(signed);
  const body = concatBytes(Uint8Array.of(KIND_RECORD), u16(signed.length), signed, u16(sig.length), sig);
  return sealWithHeader(keys, encodeHeader(header), body);
}

export type OpenResult = { ok: true; info: PresenceInfo } | { ok: false; reason: string };

/** Opens a record believed (by its tag) to be sealed under `secret` by the owner of `spki`. Never throws. */
export async function openPresence(
  data: Uint8Array,
  secret: Uint8Array,
  spki: Uint8Array,
  nowMs: number,
  roundMs: number,
): Promise<OpenResult> {
  const h = checkPresenceShape(data, nowMs, roundMs);
  if (!h) return { ok: false, reason: 'bad shape or stale round' };
  const plaintext = unseal(recordKeys(secret), data, h);
  if (!plaintext) return { ok: false, reason: 'cannot decrypt (wrong key or tampered)' };
  let signed: Uint8Array;
  let sig: Uint8Array;
  try {
    const r = new ByteReader(plaintext);
    if (r.u8() !== KIND_RECORD) return { ok: false, reason: 'not a record' };
    signed = r.bytes(r.u16());
    sig = r.bytes(r.u16());
    if (r.rest().some((b) => b !== 0)) return { ok: false, reason: 'bad padding' };
  } catch {
    return { ok: false, reason: 'malformed plaintext' };
  }
  // The signed bytes must repeat the outer header exactly: a record re-sealed under another nonce,
  // round or tag (or with an edited address) no longer matches its signature.
  const s = parseSignedPresence(signed);
  if (!s || !sameBytes(signed.subarray(0, HEADER_BYTES), data.subarray(0, HEADER_BYTES)))
    return { ok: false, reason: 'signed header differs from the record (re-sealed)' };
  const info = { round: h.round, timestamp: s.timestamp, host: s.host, port: s.port };
  const roundStart = h.round * roundMs;
  if (info.timestamp < roundStart - SKEW_MS || info.timestamp > roundStart + roundMs + SKEW_MS)
    return { ok: false, reason: 'timestamp outside its round' };
  if (Math.abs(nowMs - info.timestamp) > 2 * roundMs + SKEW_MS) return { ok: false, reason: 'stale' };
  const ok = await verifyHostkeySignature(spki, 'presence', signed, sig);
  return ok ? { ok: true, info } : { ok: false, reason: 'bad signature' };
}

export interface KeyUpdate {
  epoch: number;
  secret: Uint8Array;
}

/** Our current presence secret for one friend, sealed under the pair's keys for `round`. */
export function sealKeyItem(pair: RoundKeys, round: number, slot: number, update: KeyUpdate): Uint8Array {
  if (update.secret.length !== 32) throw new RangeError('presence secret must be 32 bytes');
  return seal(pair, round, slot, concatBytes(Uint8Array.of(KIND_KEY), u32(update.epoch), update.secret));
}

/** Opens a key item from a friend (pair keys in the friend→us direction). Never throws. */
export function openKeyItem(
  data: Uint8Array,
  pair: RoundKeys,
  nowMs: number,
  roundMs: number,
): KeyUpdate | null {
  const h = checkPresenceShape(data, nowMs, roundMs);
  if (!h) return null;
  const plaintext = unseal(pair, data, h);
  if (!plaintext) return null;
  try {
    const r = new ByteReader(plaintext);
    if (r.u8() !== KIND_KEY) return null;
    const update = { epoch: r.u32(), secret: r.bytes(32) };
    return r.rest().some((b) => b !== 0) ? null : update;
  } catch {
    return null;
  }
}

/** Public shape check (Gossip VALIDATION): size, version, round within one of now. */
export function isPresenceShape(data: Uint8Array, nowMs: number, roundMs: number): boolean {
  return checkPresenceShape(data, nowMs, roundMs) !== null;
}

export function recordTag(secret: Uint8Array, round: number, slot: number): Uint8Array {
  return roundTag(recordKeys(secret), round, slot);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
