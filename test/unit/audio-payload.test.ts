import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  diff16,
  encodePayload,
  Flag,
  MAX_OPUS_BYTES,
  PAYLOAD_SIZE,
  PayloadError,
  unwrapSeq,
} from '../../client/src/lib/audio/payload.ts';

describe('media payload', () => {
  it('round-trips and always has the same size', () => {
    for (const len of [0, 1, 60, MAX_OPUS_BYTES]) {
      const opus = Uint8Array.from({ length: len }, (_, i) => i * 7);
      const f = { seq: 65535, flags: Flag.VOICE, sentMs: 1234, echoMs: 999, holdMs: 40, opus };
      const b = encodePayload(f);
      expect(b.length).toBe(PAYLOAD_SIZE);
      expect(decodePayload(b)).toEqual(f);
    }
  });

  it('has golden bytes', () => {
    const b = encodePayload({
      seq: 0x0102,
      flags: 3,
      sentMs: 0x0304,
      echoMs: 0xffff,
      holdMs: 8,
      opus: new Uint8Array([0xaa]),
    });
    expect(Array.from(b.subarray(0, 11))).toEqual([1, 3, 1, 2, 3, 4, 0xff, 0xff, 2, 1, 0xaa]);
    expect(b.subarray(11).every((x) => x === 0)).toBe(true);
  });

  it('refuses an Opus frame too big for one cell', () => {
    expect(() =>
      encodePayload({
        seq: 0,
        flags: 0,
        sentMs: 0,
        echoMs: 0,
        holdMs: 0,
        opus: new Uint8Array(MAX_OPUS_BYTES + 1),
      }),
    ).toThrow(PayloadError);
  });

  it('any byte string either decodes or throws PayloadError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          const f = decodePayload(b);
          expect(f.opus.length).toBeLessThanOrEqual(MAX_OPUS_BYTES);
        } catch (e) {
          expect(e).toBeInstanceOf(PayloadError);
        }
      }),
    );
    const b = encodePayload({ seq: 1, flags: 1, sentMs: 0, echoMs: 0, holdMs: 0, opus: new Uint8Array(3) });
    b[9] = 200;
    expect(() => decodePayload(b)).toThrow(PayloadError);
    b[0] = 9;
    expect(() => decodePayload(b)).toThrow(/version/);
  });

  it('unwraps 16-bit sequence numbers and clock differences', () => {
    expect(unwrapSeq(2, 65534)).toBe(65538);
    expect(unwrapSeq(65534, 65538)).toBe(65534);
    expect(unwrapSeq(100, 100)).toBe(100);
    fc.assert(
      fc.property(
        fc.integer({ min: 40_000, max: 1e9 }),
        fc.integer({ min: -30_000, max: 30_000 }),
        (ref, d) => {
          expect(unwrapSeq((ref + d) & 0xffff, ref)).toBe(ref + d);
        },
      ),
    );
    expect(diff16(5, 65530)).toBe(11);
    expect(diff16(65530, 5)).toBe(-11);
  });
});
