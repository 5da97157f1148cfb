// What a call's two signatures cover, and the OFFER frame's fixed head, in one place: the browser
// builds and verifies these transcripts (client/src/lib/calls/handshake.ts), the bridge reads them
// before it signs (relay/bridge/sign-call.ts), so the two cannot drift. Browser-safe, no Node APIs.
//   offer transcript  = "offer"  || callId(8) || timestamp(u64 ms, big-endian) || callerEph(32)
//                       || callerIdentity(32) || calleeIdentity(32)                    (117 bytes)
//   answer transcript = "answer" || offer transcript || calleeEph(32)                   (155 bytes)
//   OFFER frame       = 0xc1 || 0x01 || callId(8) || timestamp(8) || callerEph(32)
//                       || callerIdentity(32) || sigLen(u16) || sig            (docs/client.md)

import { concatBytes, u64 } from './bytes.ts';

export const CALL_MAGIC = 0xc1;
export const OFFER_KIND = 1;
export const CALL_ID_BYTES = 8;
const EPH = 32;
const ID = 32;
const OFFER_LABEL = new TextEncoder().encode('offer');
const ANSWER_LABEL = new TextEncoder().encode('answer');
export const OFFER_TRANSCRIPT_BYTES = OFFER_LABEL.length + CALL_ID_BYTES + 8 + EPH + 2 * ID;
export const ANSWER_TRANSCRIPT_BYTES = ANSWER_LABEL.length + OFFER_TRANSCRIPT_BYTES + EPH;

export interface OfferFields {
  callId: Uint8Array;
  timestamp: number;
  callerEph: Uint8Array;
  callerIdentity: Uint8Array;
  calleeIdentity: Uint8Array;
}

function readU64(b: Uint8Array, at: number): number {
  const v = new DataView(b.buffer, b.byteOffset + at, 8);
  return v.getUint32(0) * 2 ** 32 + v.getUint32(4);
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return b.length >= prefix.length && prefix.every((x, i) => b[i] === x);
}

function check(o: OfferFields): void {
  if (o.callId.length !== CALL_ID_BYTES || o.callerEph.length !== EPH)
    throw new RangeError('bad offer field');
  if (o.callerIdentity.length !== ID || o.calleeIdentity.length !== ID) throw new RangeError('bad identity');
}

/** What the caller signs: binds the call id, time, its ephemeral key and both identities. */
export function offerTranscript(o: OfferFields): Uint8Array {
  check(o);
  return concatBytes(
    OFFER_LABEL,
    o.callId,
    u64(o.timestamp),
    o.callerEph,
    o.callerIdentity,
    o.calleeIdentity,
  );
}

/** What the callee signs: the whole offer plus its own ephemeral key. */
export function answerTranscript(o: OfferFields, calleeEph: Uint8Array): Uint8Array {
  if (calleeEph.length !== EPH) throw new RangeError('bad callee key');
  return concatBytes(ANSWER_LABEL, offerTranscript(o), calleeEph);
}

export type ParsedTranscript =
  | { kind: 'offer'; fields: OfferFields }
  | { kind: 'answer'; fields: OfferFields; offer: Uint8Array; calleeEph: Uint8Array };

/** callId, timestamp, callerEph, callerIdentity, as laid out from `at` in a transcript and a frame. */
function fieldsAt(b: Uint8Array, at: number, calleeIdentity: Uint8Array): OfferFields {
  const eph = at + CALL_ID_BYTES + 8;
  return {
    callId: b.slice(at, at + CALL_ID_BYTES),
    timestamp: readU64(b, at + CALL_ID_BYTES),
    callerEph: b.slice(eph, eph + EPH),
    callerIdentity: b.slice(eph + EPH, eph + EPH + ID),
    calleeIdentity,
  };
}

function parseOffer(b: Uint8Array): OfferFields {
  return fieldsAt(b, OFFER_LABEL.length, b.slice(OFFER_TRANSCRIPT_BYTES - ID, OFFER_TRANSCRIPT_BYTES));
}

/** The transcript a sign request carries, or null for anything of another shape. Never throws. */
export function parseCallTranscript(b: Uint8Array): ParsedTranscript | null {
  if (b.length === OFFER_TRANSCRIPT_BYTES && startsWith(b, OFFER_LABEL))
    return { kind: 'offer', fields: parseOffer(b) };
  if (b.length === ANSWER_TRANSCRIPT_BYTES && startsWith(b, ANSWER_LABEL)) {
    const offer = b.slice(ANSWER_LABEL.length, ANSWER_LABEL.length + OFFER_TRANSCRIPT_BYTES);
    if (!startsWith(offer, OFFER_LABEL)) return null;
    return { kind: 'answer', fields: parseOffer(offer), offer, calleeEph: b.slice(-EPH) };
  }
  return null;
}

/** The offer fields an OFFER frame carries (the callee is whoever received it), or null. Never throws. */
export function offerFieldsOfFrame(frame: Uint8Array, calleeIdentity: Uint8Array): OfferFields | null {
  const head = 2 + CALL_ID_BYTES + 8 + EPH + ID;
  if (frame.length < head + 2 || frame[0] !== CALL_MAGIC || frame[1] !== OFFER_KIND) return null;
  const sigLen = (frame[head]! << 8) | frame[head + 1]!;
  if (frame.length !== head + 2 + sigLen || calleeIdentity.length !== ID) return null;
  return fieldsAt(frame, 2, calleeIdentity);
}
