// Every malformed-frame rule, and every encode-side refusal, with its WireError code.
import { describe, expect, it } from 'vitest';
import {
  type ApiMessage,
  type DhtPut,
  decodeMessage,
  encodeMessage,
  type GossipAnnounce,
  type OnionTunnelBuild,
  type RpsPeer,
  WireError,
  type WireErrorCode,
} from '../../shared/wire/index.ts';

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const KEY = hex(KEY_HEX);

function codeOf(f: () => unknown): WireErrorCode | 'NO_THROW' {
  try {
    f();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'NO_THROW';
}

const decodeCases: [string, string, WireErrorCode][] = [
  // framing
  ['empty input', '', 'TRUNCATED'],
  ['3 bytes', '0004 02', 'TRUNCATED'],
  ['declared size 0', '0000 0208', 'SIZE_TOO_SMALL'],
  ['declared size 3', '0003 0208', 'SIZE_TOO_SMALL'],
  ['declared size > frame', '0005 0208', 'SIZE_MISMATCH'],
  ['declared size < frame', '0004 0208 00', 'SIZE_MISMATCH'],
  ['unknown type 0', '0004 0000', 'UNKNOWN_TYPE'],
  ['unknown type 600 (retired Onion Auth)', '0004 0258', 'UNKNOWN_TYPE'],
  ['unknown type 680 (enrollment)', '0004 02a8', 'UNKNOWN_TYPE'],
  // fixed sizes
  ['NOTIFY size 9', '0009 01f5 0000 1234 00', 'BAD_FIXED_SIZE'],
  ['NOTIFY size 7', '0007 01f5 0000 12', 'BAD_FIXED_SIZE'],
  ['VALIDATION size 10', '000a 01f7 0007 0001 0000', 'BAD_FIXED_SIZE'],
  ['NSE QUERY size 5', '0005 0208 00', 'BAD_FIXED_SIZE'],
  ['NSE ESTIMATE size 11', '000b 0209 000003e8 deadbe', 'BAD_FIXED_SIZE'],
  ['NSE ESTIMATE size 4', '0004 0209', 'BAD_FIXED_SIZE'],
  ['RPS QUERY size 5', '0005 021c 00', 'BAD_FIXED_SIZE'],
  ['INCOMING size 9', '0009 0232 00000005 00', 'BAD_FIXED_SIZE'],
  ['DESTROY size 7', '0007 0233 000000', 'BAD_FIXED_SIZE'],
  ['ERROR size 13', '000d 0235 0230 0000 00000000 00', 'BAD_FIXED_SIZE'],
  ['COVER size 6', '0006 0236 0400', 'BAD_FIXED_SIZE'],
  ['GET size 35', `0023 028b ${KEY_HEX.slice(2)}`, 'BAD_FIXED_SIZE'],
  ['GET size 37', `0025 028b ${KEY_HEX} 00`, 'BAD_FIXED_SIZE'],
  ['FAILURE size 37', `0025 028d ${KEY_HEX} 00`, 'BAD_FIXED_SIZE'],
  // too short for the fixed part of variable messages
  ['ANNOUNCE size 7', '0007 01f4 03 00 12', 'TRUNCATED'],
  ['NOTIFICATION size 6', '0006 01f6 beef', 'TRUNCATED'],
  ['RPS PEER size 7', '0007 021d 1b58 00', 'TRUNCATED'],
  ['BUILD size 6', '0006 0230 0000', 'TRUNCATED'],
  ['READY size 7', '0007 0231 010203', 'TRUNCATED'],
  ['DATA size 5', '0005 0234 00', 'TRUNCATED'],
  ['PUT size 39', `0027 028a 0e10 03 00 ${KEY_HEX.slice(2)}`, 'TRUNCATED'],
  ['SUCCESS size 35', `0023 028c ${KEY_HEX.slice(2)}`, 'TRUNCATED'],
  // RPS PEER portmap beyond the message
  ['RPS PEER k=2 with one record', '000c 021d 1b58 02 00 028a 1b59', 'TRUNCATED'],
  ['RPS PEER k=255 with one record', '000c 021d 1b58 ff 00 028a 1b59', 'TRUNCATED'],
  ['RPS PEER k=1 with half a record', '000a 021d 1b58 01 00 028a', 'TRUNCATED'],
  // IP flag vs bytes available
  ['RPS PEER V=1 with 8 bytes left', '0010 021d 1b58 00 01 c0a80102 30030201', 'BAD_ADDRESS'],
  ['RPS PEER V=0 with 2 bytes left', '000a 021d 1b58 00 00 c0a8', 'BAD_ADDRESS'],
  ['RPS PEER V=0 with nothing left after portmap', '000c 021d 1b58 01 00 028a 1b59', 'BAD_ADDRESS'],
  ['BUILD V=1 with 10 bytes left', '0012 0230 0001 2328 0a000001 aabbccddeeff', 'BAD_ADDRESS'],
  ['BUILD V=0 with 3 bytes left', '000b 0230 0000 2328 0a0000', 'BAD_ADDRESS'],
  ['BUILD V=0 with nothing left', '0008 0230 0000 2328', 'BAD_ADDRESS'],
  // hostkeys
  ['RPS PEER without hostkey', '000c 021d 1b58 00 00 c0a80102', 'EMPTY_HOSTKEY'],
  [
    'RPS PEER IPv6 without hostkey',
    '0018 021d 1b58 00 01 00000000 00000000 00000000 00000001',
    'EMPTY_HOSTKEY',
  ],
  ['BUILD without hostkey', '000c 0230 0000 2328 0a000001', 'EMPTY_HOSTKEY'],
  ['READY without hostkey', '0008 0231 00000001', 'EMPTY_HOSTKEY'],
  // DHT PUT value
  ['PUT with empty value', `0028 028a 0e10 03 00 ${KEY_HEX}`, 'EMPTY_VALUE'],
];

describe('decodeMessage rejects malformed frames', () => {
  for (const [name, bytes, code] of decodeCases) {
    it(`${name} → ${code}`, () => {
      const frame = hex(bytes);
      expect(codeOf(() => decodeMessage(frame))).toBe(code);
    });
  }

  it('error messages carry the code', () => {
    expect(() => decodeMessage(hex('0003 0208'))).toThrow(/^SIZE_TOO_SMALL: /);
  });
});

const big = (n: number) => new Uint8Array(n);
const announce: GossipAnnounce = { type: 500, ttl: 1, dataType: 1, data: big(1) };
const peer: RpsPeer = {
  type: 541,
  port: 1,
  portmap: [{ module: 650, port: 2 }],
  address: '1.2.3.4',
  hostkey: big(1),
};
const build: OnionTunnelBuild = { type: 560, port: 1, address: '::1', hostkey: big(1) };
const put: DhtPut = { type: 650, ttl: 1, replication: 1, key: KEY, value: big(1) };
const encodeCases: [string, ApiMessage, WireErrorCode][] = [
  ['ANNOUNCE of 65536 bytes', { type: 500, ttl: 1, dataType: 1, data: big(65536 - 8) }, 'TOO_LARGE'],
  ['DATA of 65536 bytes', { type: 564, tunnelId: 1, data: big(65536 - 8) }, 'TOO_LARGE'],
  ['SUCCESS of 65536 bytes', { type: 652, key: KEY, value: big(65536 - 36) }, 'TOO_LARGE'],
  ['ANNOUNCE ttl 256', { type: 500, ttl: 256, dataType: 1, data: big(0) }, 'BAD_FIELD'],
  ['ANNOUNCE ttl -1', { type: 500, ttl: -1, dataType: 1, data: big(0) }, 'BAD_FIELD'],
  ['ANNOUNCE ttl 1.5', { type: 500, ttl: 1.5, dataType: 1, data: big(0) }, 'BAD_FIELD'],
  ['ANNOUNCE ttl NaN', { type: 500, ttl: Number.NaN, dataType: 1, data: big(0) }, 'BAD_FIELD'],
  ['ANNOUNCE data not bytes', { ...announce, data: [1, 2] as unknown as Uint8Array }, 'BAD_FIELD'],
  ['NOTIFY dataType 65536', { type: 501, dataType: 65536 }, 'BAD_FIELD'],
  ['VALIDATION messageId -1', { type: 503, messageId: -1, valid: true }, 'BAD_FIELD'],
  ['ESTIMATE 2^32', { type: 521, estimate: 2 ** 32, deviation: 0 }, 'BAD_FIELD'],
  ['ESTIMATE deviation -1', { type: 521, estimate: 0, deviation: -1 }, 'BAD_FIELD'],
  ['DESTROY tunnelId 2^32', { type: 563, tunnelId: 2 ** 32 }, 'BAD_FIELD'],
  ['ERROR requestType 70000', { type: 565, requestType: 70000, tunnelId: 0 }, 'BAD_FIELD'],
  ['COVER size 65536', { type: 566, coverSize: 65536 }, 'BAD_FIELD'],
  ['PEER port 65536', { ...peer, port: 65536 }, 'BAD_FIELD'],
  ['PEER portmap module 70000', { ...peer, portmap: [{ module: 70000, port: 1 }] }, 'BAD_FIELD'],
  [
    'PEER 256 portmap entries',
    {
      ...peer,
      portmap: Array.from({ length: 256 }, () => ({ module: 650, port: 1 })),
    },
    'BAD_FIELD',
  ],
  ['PEER bad IPv4', { ...peer, address: '1.2.3' }, 'BAD_ADDRESS'],
  ['PEER host name', { ...peer, address: 'localhost' }, 'BAD_ADDRESS'],
  ['PEER empty hostkey', { ...peer, hostkey: big(0) }, 'EMPTY_HOSTKEY'],
  ['BUILD bad IPv6', { ...build, address: '::g' }, 'BAD_ADDRESS'],
  ['BUILD 1.2.3.999', { ...build, address: '1.2.3.999' }, 'BAD_ADDRESS'],
  ['BUILD empty hostkey', { ...build, hostkey: big(0) }, 'EMPTY_HOSTKEY'],
  ['READY empty hostkey', { type: 561, tunnelId: 1, hostkey: big(0) }, 'EMPTY_HOSTKEY'],
  ['PUT empty value', { ...put, value: big(0) }, 'EMPTY_VALUE'],
  ['PUT key 31 bytes', { ...put, key: big(31) }, 'BAD_FIELD'],
  ['PUT key 33 bytes', { ...put, key: big(33) }, 'BAD_FIELD'],
  ['PUT replication 256', { ...put, replication: 256 }, 'BAD_FIELD'],
  ['GET key 0 bytes', { type: 651, key: big(0) }, 'BAD_FIELD'],
  ['SUCCESS key 16 bytes', { type: 652, key: big(16), value: big(1) }, 'BAD_FIELD'],
  ['FAILURE key 64 bytes', { type: 653, key: big(64) }, 'BAD_FIELD'],
  ['unknown type', { type: 600 } as unknown as ApiMessage, 'UNKNOWN_TYPE'],
];

describe('encodeMessage refuses what it cannot encode', () => {
  for (const [name, msg, code] of encodeCases) {
    it(`${name} → ${code}`, () => expect(codeOf(() => encodeMessage(msg))).toBe(code));
  }

  it('the base messages used above are fine', () => {
    for (const m of [announce, peer, build, put]) expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });

  it('65535 bytes is the largest message', () => {
    const m: ApiMessage = { type: 500, ttl: 1, dataType: 1, data: big(65535 - 8) };
    expect(encodeMessage(m).length).toBe(65535);
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });
});
