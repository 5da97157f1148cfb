// Call signalling frames carried in ONION TUNNEL DATA. Byte layouts: docs/client.md "Call frames".
// Decoders are strict (hostile input): any problem throws CallWireError, and the frame is dropped.
import { ByteReader, concatBytes, u16, u64 } from '../crypto/bytes.ts';

export const CALL_MAGIC = 0xc1;
export const CALL_ID_BYTES = 8;
const MAX_SIG = 1024;
const MAX_SPKI = 2048;

export const Kind = { OFFER: 1, ANSWER: 2, SEALED: 3, REFUSE: 4, CALLER_KEY: 5 } as const;

/** Why a callee refused before any key agreement (plaintext, so it carries no detail). */
export const RefuseReason = { NOT_ACCEPTED: 1, BAD_OFFER: 2 } as const;

export interface Offer {
  kind: 1;
  callId: Uint8Array;
  timestamp: number;
  eph: Uint8Array;
  callerIdentity: Uint8Array;
  sig: Uint8Array;
}
export interface Answer {
  kind: 2;
  callId: Uint8Array;
  eph: Uint8Array;
  sig: Uint8Array;
}
export interface Sealed {
  kind: 3;
  callId: Uint8Array;
  counter: number;
  /** Header bytes (magic..counter): the AEAD's associated data. */
  aad: Uint8Array;
  ciphertext: Uint8Array;
}
export interface Refuse {
  kind: 4;
  callId: Uint8Array;
  reason: number;
}
export interface CallerKey {
  kind: 5;
  callId: Uint8Array;
  spki: Uint8Array;
}
export type CallFrame = Offer | Answer | Sealed | Refuse | CallerKey;

export class CallWireError extends Error {
  override name = 'CallWireError';
}

function head(kind: number, callId: Uint8Array): Uint8Array {
  if (callId.length !== CALL_ID_BYTES) throw new CallWireError('call id must be 8 bytes');
  return concatBytes(Uint8Array.of(CALL_MAGIC, kind), callId);
}

export function encodeOffer(o: Omit<Offer, 'kind'>): Uint8Array {
  return concatBytes(
    head(Kind.OFFER, o.callId),
    u64(o.timestamp),
    o.eph,
    o.callerIdentity,
    u16(o.sig.length),
    o.sig,
  );
}

export function encodeAnswer(a: Omit<Answer, 'kind'>): Uint8Array {
  return concatBytes(head(Kind.ANSWER, a.callId), a.eph, u16(a.sig.length), a.sig);
}

/** Bytes of a sealed frame's header (magic, kind, call id, counter): the AEAD's associated data. */
export const SEALED_HEADER = 2 + CALL_ID_BYTES + 8;
/** A sealed frame's bytes besides its inner payload: header, message tag, AEAD tag. */
export const SEALED_OVERHEAD = SEALED_HEADER + 1 + 16;
/**
 * Data bytes one onion cell carries on our relays (a 195-byte fragment, relay/onion/cell.ts). Only
 * for pacing: another Onion implementation may cut differently, which changes no correctness.
 */
export const CELL_DATA = 195;

/** Cells a TUNNEL DATA of `bytes` bytes takes on the links. */
export function onionCells(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / CELL_DATA));
}

export function sealedHeader(callId: Uint8Array, counter: number): Uint8Array {
  return concatBytes(head(Kind.SEALED, callId), u64(counter));
}

export function encodeRefuse(callId: Uint8Array, reason: number): Uint8Array {
  return concatBytes(head(Kind.REFUSE, callId), Uint8Array.of(reason));
}

export function encodeCallerKey(callId: Uint8Array, spki: Uint8Array): Uint8Array {
  return concatBytes(head(Kind.CALLER_KEY, callId), u16(spki.length), spki);
}

export function decodeCallFrame(bytes: Uint8Array): CallFrame {
  try {
    const r = new ByteReader(bytes);
    if (r.u8() !== CALL_MAGIC) throw new CallWireError('not a call frame');
    const kind = r.u8();
    const callId = r.bytes(CALL_ID_BYTES);
    let frame: CallFrame;
    if (kind === Kind.OFFER) {
      const timestamp = r.u64();
      const eph = r.bytes(32);
      const callerIdentity = r.bytes(32);
      const n = r.u16();
      if (n > MAX_SIG) throw new CallWireError('signature too long');
      frame = { kind, callId, timestamp, eph, callerIdentity, sig: r.bytes(n) };
    } else if (kind === Kind.ANSWER) {
      const eph = r.bytes(32);
      const n = r.u16();
      if (n > MAX_SIG) throw new CallWireError('signature too long');
      frame = { kind, callId, eph, sig: r.bytes(n) };
    } else if (kind === Kind.SEALED) {
      const counter = r.u64();
      const ciphertext = r.rest();
      if (ciphertext.length < 17) throw new CallWireError('sealed frame too short');
      return { kind, callId, counter, aad: bytes.slice(0, 18), ciphertext };
    } else if (kind === Kind.REFUSE) {
      frame = { kind, callId, reason: r.u8() };
    } else if (kind === Kind.CALLER_KEY) {
      const n = r.u16();
      if (n > MAX_SPKI) throw new CallWireError('key too long');
      frame = { kind, callId, spki: r.bytes(n) };
    } else {
      throw new CallWireError(`unknown frame kind ${kind}`);
    }
    r.end();
    return frame;
  } catch (e) {
    if (e instanceof CallWireError) throw e;
    throw new CallWireError(`malformed call frame: ${(e as Error).message}`);
  }
}

// ---- inside a sealed frame ----

export const Msg = {
  RINGING: 1,
  ACCEPT: 2,
  REJECT: 3,
  BUSY: 4,
  HANGUP: 5,
  ACK: 6,
  MEDIA: 7,
  PING: 8,
  /** Filler of a media frame's size: keeps the call's packet rate when it has nothing to say. */
  PAD: 9,
} as const;
export type ControlMsg = 1 | 2 | 3 | 4 | 5;

export type Inner =
  | { msg: ControlMsg; seq: number }
  | { msg: 6; seq: number }
  | { msg: 7; payload: Uint8Array }
  | { msg: 8 }
  | { msg: 9; payload: Uint8Array };

export function encodeInner(m: Inner): Uint8Array {
  if (m.msg === Msg.MEDIA || m.msg === Msg.PAD) return concatBytes(Uint8Array.of(m.msg), m.payload);
  if (m.msg === Msg.PING) return Uint8Array.of(m.msg);
  const out = new Uint8Array(5);
  out[0] = m.msg;
  new DataView(out.buffer).setUint32(1, m.seq);
  return out;
}

export function decodeInner(bytes: Uint8Array): Inner {
  const r = new ByteReader(bytes);
  try {
    const msg = r.u8();
    if (msg === Msg.MEDIA || msg === Msg.PAD) return { msg, payload: r.rest() };
    if (msg === Msg.PING) {
      r.end();
      return { msg };
    }
    if (msg < Msg.RINGING || msg > Msg.ACK) throw new CallWireError(`unknown message ${msg}`);
    const seq = r.u32();
    r.end();
    return { msg: msg as ControlMsg | 6, seq };
  } catch (e) {
    if (e instanceof CallWireError) throw e;
    throw new CallWireError(`malformed sealed message: ${(e as Error).message}`);
  }
}
