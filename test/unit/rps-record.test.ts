// Peer records: round trip, signature and identity binding, and hostile input.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../shared/identity.ts';
import { encodeMessage, decodeMessage } from '../../shared/wire/index.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { parseRecord, RecordError, signRecord, verifyRecord } from '../../relay/rps/record.ts';
import { toRpsPeer } from '../../relay/rps/service.ts';
import { getKeys } from '../keypool.ts';

const PORTMAP = [
  { module: 500, port: 7001 },
  { module: 560, port: 7003 },
  { module: 650, port: 7004 },
  { module: 540, port: 7005 },
];
const opts = { minKeyBits: 4096 };
let a: Hostkey;
let b: Hostkey;

beforeAll(async () => {
  const [ka, kb] = await getKeys(2);
  a = await loadHostkey(ka!);
  b = await loadHostkey(kb!);
});

describe('rps peer record', () => {
  it('round-trips and binds the identity to the hostkey', () => {
    const rec = signRecord({ address: '127.0.0.1', portmap: PORTMAP, time: 1_700_000_000_123 }, a);
    const got = verifyRecord(rec.bytes, opts);
    expect(got.id).toBe(toHex(a.identity));
    expect(got.address).toBe('127.0.0.1');
    expect(got.portmap).toEqual(PORTMAP);
    expect(got.time).toBe(1_700_000_000_123);
    expect(Buffer.from(got.hostkey).equals(Buffer.from(a.spkiDer))).toBe(true);
  });

  it('carries IPv6 addresses', () => {
    const rec = signRecord({ address: '2001:db8::7', portmap: PORTMAP, time: 5 }, a);
    expect(verifyRecord(rec.bytes, opts).address).toBe('2001:db8::7');
  });

  it('rejects any flipped bit (signature) and a swapped hostkey', () => {
    const rec = signRecord({ address: '10.0.0.1', portmap: PORTMAP, time: 99 }, a);
    for (const at of [0, 3, 12, 30, rec.bytes.length - 1]) {
      const bad = rec.bytes.slice();
      bad[at]! ^= 1;
      expect(() => verifyRecord(bad, opts)).toThrow(RecordError);
    }
    // b's key with a's signature: parses, does not verify.
    const other = signRecord({ address: '10.0.0.1', portmap: PORTMAP, time: 99 }, b);
    const swapped = new Uint8Array([
      ...other.bytes.subarray(0, other.bytes.length - 514),
      ...rec.bytes.subarray(rec.bytes.length - 514),
    ]);
    expect(() => verifyRecord(swapped, opts)).toThrow(/signature/);
  });

  it('refuses a hostkey in a non-canonical DER encoding (another identity for the same key)', () => {
    const der = a.spkiDer;
    expect([der[0], der[1]]).toEqual([0x30, 0x82]); // SEQUENCE, two length bytes
    // The same key with its outer length in three bytes: OpenSSL parses it, its hash differs.
    const longForm = new Uint8Array([0x30, 0x83, 0x00, ...der.subarray(2)]);
    const variant: Hostkey = { ...a, spkiDer: longForm, identity: new Uint8Array(32) };
    const rec = signRecord({ address: '10.0.0.1', portmap: PORTMAP, time: 1 }, variant);
    expect(() => verifyRecord(rec.bytes, opts)).toThrow(/canonical/);
  });

  it('refuses keys smaller than min_key_bits', () => {
    const rec = signRecord({ address: '10.0.0.1', portmap: PORTMAP, time: 1 }, a);
    expect(() => verifyRecord(rec.bytes, { minKeyBits: 8192 })).toThrow(/4096 bits/);
  });

  it('rejects truncation, trailing bytes, duplicate modules and port 0', () => {
    const rec = signRecord({ address: '10.0.0.1', portmap: PORTMAP, time: 1 }, a);
    for (let n = 0; n < rec.bytes.length; n += 37) {
      expect(() => parseRecord(rec.bytes.subarray(0, n))).toThrow(RecordError);
    }
    expect(() => parseRecord(new Uint8Array([...rec.bytes, 0]))).toThrow(/after the signature/);
    const dup = signRecord({ address: '10.0.0.1', portmap: [PORTMAP[0]!, PORTMAP[0]!], time: 1 }, a);
    expect(() => parseRecord(dup.bytes)).toThrow(/twice/);
    const zero = signRecord({ address: '10.0.0.1', portmap: [{ module: 500, port: 0 }], time: 1 }, a);
    expect(() => parseRecord(zero.bytes)).toThrow(/port 0/);
  });

  it('any byte string either parses or throws RecordError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        try {
          verifyRecord(bytes, opts);
        } catch (e) {
          expect(e).toBeInstanceOf(RecordError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('becomes an RPS PEER with the Gossip port as port and the full portmap', () => {
    const rec = signRecord({ address: '127.0.0.1', portmap: PORTMAP, time: 1 }, a);
    const msg = toRpsPeer(rec);
    const bytes = encodeMessage(msg);
    const view = new DataView(bytes.buffer);
    expect(view.getUint16(2)).toBe(541);
    expect(view.getUint16(4)).toBe(7001);
    expect(bytes[6]).toBe(PORTMAP.length);
    expect(bytes[7]).toBe(0);
    const ipAt = 8 + 4 * PORTMAP.length;
    expect([...bytes.subarray(ipAt, ipAt + 4)]).toEqual([127, 0, 0, 1]);
    expect(Buffer.from(bytes.subarray(ipAt + 4)).equals(Buffer.from(a.spkiDer))).toBe(true);
    expect(decodeMessage(bytes)).toEqual(msg);
  });
});
