// Presence items on the wire (gossip data type "VP"), shared by the browser (which seals and opens
// them) and the relay (whose bridge checks their public shape for Gossip and decides what it signs).
// Design and reasons: docs/threat-model.md "Presence". Browser-safe: no node: imports.
//
// Every presence item, whatever it carries, is PRESENCE_ITEM_BYTES long:
//   version u8 (= 2) ‖ round u32 ‖ tag [16] ‖ nonce [24] ‖ XChaCha20-Poly1305(plaintext [640]) [656]
// The header (first 45 bytes) is the AEAD's associated data. Only someone holding the right secret
// can tell a presence record from a key item or a dummy: the tag is a per-round HMAC of a secret.
import { randomBytes } from '@noble/hashes/utils.js';
import { bytesToIp, ipToBytes } from '../address.ts';
import { ByteReader, concatBytes, u16, u32, u64 } from '../bytes.ts';

/** Gossip data type of presence items ("VP"). */
export const PRESENCE_DATA_TYPE = 0x5650;
/** 1 was the old layout whose tag and key came from the public hostkey; it is refused everywhere. */
export const PRESENCE_VERSION = 2;
export const TAG_BYTES = 16;
export const NONCE_BYTES = 24;
export const HEADER_BYTES = 1 + 4 + TAG_BYTES + NONCE_BYTES;
/** Plaintext padded to this size: v4 or v6 address, RSA up to 4096 bits, record or key item alike. */
export const PLAINTEXT_BYTES = 640;
export const AEAD_TAG_BYTES = 16;
export const PRESENCE_ITEM_BYTES = HEADER_BYTES + PLAINTEXT_BYTES + AEAD_TAG_BYTES;
/** Items a client publishes per announcement (one record + one key item or dummy), whatever its friends. */
export const ITEMS_PER_ANNOUNCE = 2;
/** Announcements per round (just after the boundary and at mid-round). */
export const ANNOUNCES_PER_ROUND = 2;
/** Clock skew tolerated between peers. */
export const SKEW_MS = 5_000;

/** Plaintext kinds (first plaintext byte): keeps a key item from ever opening as a record. */
export const KIND_RECORD = 1;
export const KIND_KEY = 2;

export interface PresenceHeader {
  version: number;
  round: number;
  tag: Uint8Array;
  nonce: Uint8Array;
}

export function roundOf(nowMs: number, roundMs: number): number {
  return Math.floor(nowMs / roundMs);
}

/** Which of the round's ANNOUNCES_PER_ROUND slots `nowMs` falls in (0 = first half, 1 = second). */
export function slotOf(nowMs: number, roundMs: number): number {
  const into = nowMs - roundOf(nowMs, roundMs) * roundMs;
  return Math.min(ANNOUNCES_PER_ROUND - 1, Math.floor((into * ANNOUNCES_PER_ROUND) / roundMs));
}

export function encodeHeader(h: PresenceHeader): Uint8Array {
  if (h.tag.length !== TAG_BYTES || h.nonce.length !== NONCE_BYTES) throw new RangeError('bad header');
  return concatBytes(Uint8Array.of(h.version), u32(h.round), h.tag, h.nonce);
}

function decodeHeader(data: Uint8Array): PresenceHeader {
  const r = new ByteReader(data.subarray(0, HEADER_BYTES));
  return { version: r.u8(), round: r.u32(), tag: r.bytes(TAG_BYTES), nonce: r.bytes(NONCE_BYTES) };
}

/**
 * The public check anyone can make (Gossip VALIDATION on relays and in the browser): size, version,
 * round within one of now. Returns the header, or null. Never throws.
 */
export function checkPresenceShape(data: Uint8Array, nowMs: number, roundMs: number): PresenceHeader | null {
  if (data.length !== PRESENCE_ITEM_BYTES || data[0] !== PRESENCE_VERSION) return null;
  const h = decodeHeader(data);
  const current = roundOf(nowMs, roundMs);
  return h.round >= current - 1 && h.round <= current + 1 ? h : null;
}

/**
 * A dummy item: valid version and round, random everything else — without a key, indistinguishable
 * from a record or a key item. Sent by a page with no friend to send a key item to, and by a relay's
 * bridge while no page is open, so the items a relay originates don't say whether its user is online.
 */
export function dummyItem(round: number): Uint8Array {
  const item = randomBytes(PRESENCE_ITEM_BYTES);
  item[0] = PRESENCE_VERSION;
  new DataView(item.buffer, item.byteOffset).setUint32(1, round);
  return item;
}

/** When a page announces: just after the round boundary (slot 0) and just after mid-round (slot 1). */
export function nextAnnounceAt(nowMs: number, roundMs: number): number {
  const start = roundOf(nowMs, roundMs) * roundMs;
  return [start + roundMs / 2 + 50, start + roundMs + 200].find((t) => t > nowMs)!;
}

/** What a presence record's hostkey signature covers: the whole header plus timestamp and address. */
export interface SignedPresence {
  header: PresenceHeader;
  timestamp: number;
  host: string;
  port: number;
}

/**
 * The bytes the bridge signs (after its "presence" prefix) and the record carries inside its
 * ciphertext: header ‖ timestamp u64 ‖ port u16 ‖ address length u8 ‖ address (4 or 16 bytes).
 * Covering the nonce and the tag means a record can't be re-sealed under another nonce or secret.
 */
export function encodeSignedPresence(s: SignedPresence): Uint8Array {
  const ip = ipToBytes(s.host);
  return concatBytes(encodeHeader(s.header), u64(s.timestamp), u16(s.port), Uint8Array.of(ip.length), ip);
}

/** Strict parse of encodeSignedPresence's output; null for anything else. Never throws. */
export function parseSignedPresence(data: Uint8Array): SignedPresence | null {
  try {
    if (data.length < HEADER_BYTES || data[0] !== PRESENCE_VERSION) return null;
    const header = decodeHeader(data);
    const r = new ByteReader(data.subarray(HEADER_BYTES));
    const timestamp = r.u64();
    const port = r.u16();
    const len = r.u8();
    if (len !== 4 && len !== 16) return null;
    const host = bytesToIp(r.bytes(len));
    r.end();
    return { header, timestamp, host, port };
  } catch {
    return null;
  }
}
