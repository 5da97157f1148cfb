// The media payload: what VoiceSession hands to the call's sendMedia() every 20 ms, and what the
// call gives back to receive(). The call layer encrypts it end to end; the onion carries it in one
// cell. Every payload has the same size (PAYLOAD_SIZE) so its length never tells speech from
// silence, and a muted call sends the same packets as a talking one. Layout: docs/audio.md.

import { PAYLOAD_SIZE } from '../../../../shared/call-packet.ts';

/** Fixed size of every media payload: header + Opus frame + zero padding (shared with the relay). */
export { PAYLOAD_SIZE };
export const HEADER_SIZE = 10;
/** Largest Opus frame that fits; 24 kb/s CBR at 20 ms gives 60 bytes. */
export const MAX_OPUS_BYTES = PAYLOAD_SIZE - HEADER_SIZE;
export const VERSION = 1;

export const Flag = {
  /** The frame carries Opus bytes (clear when the sender had no frame: muted start, overflow). */
  VOICE: 1,
  /** The sender is muted; the frame is Opus-coded silence or absent. */
  MUTED: 2,
} as const;

export interface MediaFrame {
  /** Frame counter, 16 bits on the wire (wraps every ~22 min at 50/s; receivers unwrap). */
  seq: number;
  flags: number;
  /** Sender's clock in ms, low 16 bits: echoed back for the round-trip time. */
  sentMs: number;
  /** Last `sentMs` received from the peer (0xffff = none yet). */
  echoMs: number;
  /** ms between receiving `echoMs` and sending this frame. */
  holdMs: number;
  opus: Uint8Array;
}

export class PayloadError extends Error {
  constructor(readonly code: 'size' | 'version' | 'length') {
    super(`bad media payload: ${code}`);
  }
}

export const NO_ECHO = 0xffff;

/** Layout: version u8 | flags u8 | seq u16 | sentMs u16 | echoMs u16 | holdMs u8(*4) | len u8 | opus | pad. */
export function encodePayload(f: MediaFrame): Uint8Array {
  if (f.opus.length > MAX_OPUS_BYTES) throw new PayloadError('length');
  const out = new Uint8Array(PAYLOAD_SIZE);
  const dv = new DataView(out.buffer);
  out[0] = VERSION;
  out[1] = f.flags & 0xff;
  dv.setUint16(2, f.seq & 0xffff);
  dv.setUint16(4, f.sentMs & 0xffff);
  dv.setUint16(6, f.echoMs & 0xffff);
  // Hold time in 4 ms units: a frame is sent every 20 ms, so the hold is small; 255*4 ms caps it.
  out[8] = Math.min(255, Math.max(0, Math.round(f.holdMs / 4)));
  out[9] = f.opus.length;
  out.set(f.opus, HEADER_SIZE);
  return out;
}

/** Parses a peer's payload. Hostile input: every field is checked; throws PayloadError. */
export function decodePayload(b: Uint8Array): MediaFrame {
  if (b.length !== PAYLOAD_SIZE) throw new PayloadError('size');
  if (b[0] !== VERSION) throw new PayloadError('version');
  const len = b[9]!;
  if (len > MAX_OPUS_BYTES) throw new PayloadError('length');
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  return {
    seq: dv.getUint16(2),
    flags: b[1]!,
    sentMs: dv.getUint16(4),
    echoMs: dv.getUint16(6),
    holdMs: b[8]! * 4,
    opus: b.slice(HEADER_SIZE, HEADER_SIZE + len),
  };
}

/** Extends a 16-bit sequence number to the one nearest `ref` (RFC 3550 style unwrapping). */
export function unwrapSeq(seq16: number, ref: number): number {
  const diff = (((seq16 - ref) & 0xffff) << 16) >> 16; // signed 16-bit distance
  return ref + diff;
}

/** ms difference a - b on a 16-bit ms clock, in (-32768, 32767]. */
export function diff16(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}
