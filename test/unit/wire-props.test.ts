// fast-check properties: round trips for every codec; random bytes never cause a non-WireError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToIp } from '../../shared/address.ts';
import {
  type ApiMessage,
  decodeMessage,
  encodeMessage,
  isKnownType,
  MessageType,
  WireError,
} from '../../shared/wire/index.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (minLength = 0, maxLength = 300) => fc.uint8Array({ minLength, maxLength });
const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
// Canonical text of random 4- or 16-byte addresses (decode yields canonical text).
const ip = fc.oneof(bytes(4, 4), bytes(16, 16)).map(bytesToIp);
const portmap = fc.array(fc.record({ module: u16, port: u16 }), { maxLength: 20 });

const arbitraries: { [T in ApiMessage['type']]: fc.Arbitrary<Extract<ApiMessage, { type: T }>> } = {
  500: fc.record({ type: fc.constant(500), ttl: u8, dataType: u16, data: bytes() }),
  501: fc.record({ type: fc.constant(501), dataType: u16 }),
  502: fc.record({ type: fc.constant(502), messageId: u16, dataType: u16, data: bytes() }),
  503: fc.record({ type: fc.constant(503), messageId: u16, valid: fc.boolean() }),
  520: fc.record({ type: fc.constant(520) }),
  521: fc.record({ type: fc.constant(521), estimate: u32, deviation: u32 }),
  540: fc.record({ type: fc.constant(540) }),
  541: fc.record({ type: fc.constant(541), port: u16, portmap, address: ip, hostkey: bytes(1) }),
  560: fc.record({ type: fc.constant(560), port: u16, address: ip, hostkey: bytes(1) }),
  561: fc.record({ type: fc.constant(561), tunnelId: u32, hostkey: bytes(1) }),
  562: fc.record({ type: fc.constant(562), tunnelId: u32 }),
  563: fc.record({ type: fc.constant(563), tunnelId: u32 }),
  564: fc.record({ type: fc.constant(564), tunnelId: u32, data: bytes() }),
  565: fc.record({ type: fc.constant(565), requestType: u16, tunnelId: u32 }),
  566: fc.record({ type: fc.constant(566), coverSize: u16 }),
  650: fc.record({ type: fc.constant(650), ttl: u16, replication: u8, key, value: bytes(1) }),
  651: fc.record({ type: fc.constant(651), key }),
  652: fc.record({ type: fc.constant(652), key, value: bytes() }),
  653: fc.record({ type: fc.constant(653), key }),
};

const anyMessage: fc.Arbitrary<ApiMessage> = fc.oneof(
  ...(Object.values(arbitraries) as fc.Arbitrary<ApiMessage>[]),
);

function decodesOrWireError(frame: Uint8Array): void {
  try {
    const msg = decodeMessage(frame);
    // Whatever decodes re-encodes to something that decodes to the same message.
    expect(decodeMessage(encodeMessage(msg))).toEqual(msg);
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
  }
}

describe('wire round trips', () => {
  for (const [type, arb] of Object.entries(arbitraries)) {
    it(`type ${type}: decode(encode(m)) equals m`, () => {
      fc.assert(
        fc.property(arb as fc.Arbitrary<ApiMessage>, (m) => {
          const frame = encodeMessage(m);
          expect((frame[0]! << 8) | frame[1]!).toBe(frame.length);
          expect((frame[2]! << 8) | frame[3]!).toBe(m.type);
          expect(decodeMessage(frame)).toEqual(m);
        }),
      );
    });
  }

  it('big payloads up to the 65535-byte limit round-trip', () => {
    fc.assert(
      fc.property(u32, fc.integer({ min: 0, max: 65535 - 8 }), (tunnelId, n) => {
        const m: ApiMessage = { type: 564, tunnelId, data: new Uint8Array(n).fill(n & 0xff) };
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }),
      { numRuns: 10 },
    );
  });

  it('covers every message type', () => {
    for (const t of Object.values(MessageType)) expect(arbitraries[t]).toBeDefined();
  });
});

describe('decoding garbage', () => {
  it('random bytes decode or throw WireError', () => {
    fc.assert(
      fc.property(bytes(0, 80), (b) => decodesOrWireError(b)),
      { numRuns: 2000 },
    );
  });

  it('well-framed random bodies of known types decode or throw WireError', () => {
    const known = Object.values(MessageType);
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...known), u16), bytes(0, 120), (type, body) => {
        const frame = new Uint8Array(4 + body.length);
        frame.set([frame.length >> 8, frame.length & 0xff, type >> 8, type & 0xff]);
        frame.set(body, 4);
        decodesOrWireError(frame);
        if (!isKnownType(type)) expect(() => decodeMessage(frame)).toThrow(WireError);
      }),
      { numRuns: 5000 },
    );
  });

  it('valid frames with one byte flipped, cut or extended decode or throw WireError', () => {
    fc.assert(
      fc.property(anyMessage, fc.nat(), u8, fc.integer({ min: -3, max: 3 }), (m, at, v, delta) => {
        const frame = encodeMessage(m);
        const flipped = frame.slice();
        flipped[at % frame.length] = v;
        decodesOrWireError(flipped);
        const resized = new Uint8Array(Math.max(0, frame.length + delta));
        resized.set(frame.subarray(0, resized.length));
        decodesOrWireError(resized);
      }),
      { numRuns: 2000 },
    );
  });
});
