// DHT P2P codecs: round trips, and hostile bodies either decode or throw LinkViolation.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkViolation } from '../../relay/p2p/index.ts';
import { type DhtMessage, decodeDht, encodeDht, MAX_CONTACTS } from '../../relay/dht/protocol.ts';

const id = () => new Uint8Array(randomBytes(32));

describe('DHT protocol codecs', () => {
  const samples: DhtMessage[] = [
    { type: 1100, rid: 1 },
    { type: 1101, rid: 0xffffffff },
    { type: 1102, rid: 7, target: id() },
    { type: 1104, rid: 8, target: id() },
    {
      type: 1103,
      rid: 9,
      nodes: [
        { id: id(), host: '127.0.0.1', port: 4000 },
        { id: id(), host: '2001:db8::1', port: 65535 },
      ],
    },
    { type: 1105, rid: 10, ttl: 3600, value: Uint8Array.of(1, 2, 3) },
    { type: 1106, rid: 11, ttl: 60, key: id(), value: new Uint8Array(65495) },
    { type: 1107, rid: 12, status: 1 },
  ];
  for (const m of samples) {
    it(`round-trips type ${m.type}`, () => {
      expect(decodeDht(m.type, encodeDht(m))).toEqual(m);
    });
  }

  it('rejects truncation, trailing bytes, empty values, too many contacts, bad family, port 0', () => {
    const bad: [number, Uint8Array][] = [
      [1102, new Uint8Array(10)],
      [1100, new Uint8Array(5)],
      [1105, new Uint8Array(8)],
      [1106, new Uint8Array(40)],
      [1103, Uint8Array.of(0, 0, 0, 1, MAX_CONTACTS + 1)],
      [1103, new Uint8Array([0, 0, 0, 1, 1, ...new Uint8Array(32), 5, 0, 1, 1, 2, 3, 4])],
      [1103, new Uint8Array([0, 0, 0, 1, 1, ...new Uint8Array(32), 4, 0, 0, 1, 2, 3, 4])],
      [1999, new Uint8Array(4)],
    ];
    for (const [type, body] of bad)
      expect(() => decodeDht(type, body), `type ${type}`).toThrow(LinkViolation);
  });

  it('any body either decodes or raises LinkViolation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1100, max: 1108 }), fc.uint8Array({ maxLength: 200 }), (type, body) => {
        try {
          decodeDht(type, body);
        } catch (e) {
          expect(e).toBeInstanceOf(LinkViolation);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
