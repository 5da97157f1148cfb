// Golden bytes for every API message, written by hand from shared/spec/api-wire-format.md.
import { describe, expect, it } from 'vitest';
import {
  type ApiMessage,
  decodeMessage,
  encodeMessage,
  isKnownType,
  MessageType,
  peekHeader,
} from '../../shared/wire/index.ts';

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const KEY = hex(KEY_HEX);

const golden: [string, ApiMessage, string][] = [
  [
    'GOSSIP ANNOUNCE',
    { type: 500, ttl: 3, dataType: 0x1234, data: hex('dead') },
    '000a 01f4 03 00 1234 dead',
  ],
  ['GOSSIP ANNOUNCE empty data', { type: 500, ttl: 0, dataType: 1, data: hex('') }, '0008 01f4 00 00 0001'],
  ['GOSSIP NOTIFY', { type: 501, dataType: 0x1234 }, '0008 01f5 0000 1234'],
  [
    'GOSSIP NOTIFICATION',
    { type: 502, messageId: 0xbeef, dataType: 0x0102, data: hex('010203') },
    '000b 01f6 beef 0102 010203',
  ],
  ['GOSSIP VALIDATION valid', { type: 503, messageId: 7, valid: true }, '0008 01f7 0007 0001'],
  ['GOSSIP VALIDATION invalid', { type: 503, messageId: 7, valid: false }, '0008 01f7 0007 0000'],
  ['NSE QUERY', { type: 520 }, '0004 0208'],
  ['NSE ESTIMATE', { type: 521, estimate: 1000, deviation: 0xdeadbeef }, '000c 0209 000003e8 deadbeef'],
  ['RPS QUERY', { type: 540 }, '0004 021c'],
  [
    'RPS PEER IPv4 with 2-entry portmap',
    {
      type: 541,
      port: 7000,
      portmap: [
        { module: 650, port: 7001 },
        { module: 560, port: 7002 },
      ],
      address: '192.168.1.2',
      hostkey: hex('3003020100'),
    },
    '0019 021d 1b58 02 00 028a 1b59 0230 1b5a c0a80102 3003020100',
  ],
  [
    'RPS PEER IPv6 with 2-entry portmap',
    {
      type: 541,
      port: 7000,
      portmap: [
        { module: 650, port: 7001 },
        { module: 560, port: 7002 },
      ],
      address: '2001:db8::1',
      hostkey: hex('3003020100'),
    },
    '0025 021d 1b58 02 01 028a 1b59 0230 1b5a 20010db8 00000000 00000000 00000001 3003020100',
  ],
  [
    'RPS PEER empty portmap',
    { type: 541, port: 1, portmap: [], address: '1.2.3.4', hostkey: hex('aa') },
    '000d 021d 0001 00 00 01020304 aa',
  ],
  [
    'ONION TUNNEL BUILD IPv4',
    { type: 560, port: 9000, address: '10.0.0.1', hostkey: hex('aabbcc') },
    '000f 0230 0000 2328 0a000001 aabbcc',
  ],
  [
    'ONION TUNNEL BUILD IPv6',
    { type: 560, port: 9000, address: '::1', hostkey: hex('aabbcc') },
    '001b 0230 0001 2328 00000000 00000000 00000000 00000001 aabbcc',
  ],
  [
    'ONION TUNNEL READY',
    { type: 561, tunnelId: 0x01020304, hostkey: hex('aabb') },
    '000a 0231 01020304 aabb',
  ],
  ['ONION TUNNEL INCOMING', { type: 562, tunnelId: 5 }, '0008 0232 00000005'],
  ['ONION TUNNEL DESTROY', { type: 563, tunnelId: 0xffffffff }, '0008 0233 ffffffff'],
  ['ONION TUNNEL DATA', { type: 564, tunnelId: 42, data: hex('cafe') }, '000a 0234 0000002a cafe'],
  ['ONION TUNNEL DATA empty', { type: 564, tunnelId: 42, data: hex('') }, '0008 0234 0000002a'],
  ['ONION ERROR', { type: 565, requestType: 560, tunnelId: 0 }, '000c 0235 0230 0000 00000000'],
  ['ONION COVER', { type: 566, coverSize: 1024 }, '0008 0236 0400 0000'],
  [
    'DHT PUT',
    { type: 650, ttl: 3600, replication: 3, key: KEY, value: hex('ab') },
    `0029 028a 0e10 03 00 ${KEY_HEX} ab`,
  ],
  ['DHT GET', { type: 651, key: KEY }, `0024 028b ${KEY_HEX}`],
  ['DHT SUCCESS', { type: 652, key: KEY, value: hex('c0ffee') }, `0027 028c ${KEY_HEX} c0ffee`],
  ['DHT SUCCESS empty value', { type: 652, key: KEY, value: hex('') }, `0024 028c ${KEY_HEX}`],
  ['DHT FAILURE', { type: 653, key: KEY }, `0024 028d ${KEY_HEX}`],
];

describe('wire golden bytes', () => {
  it('covers every message type', () => {
    const covered = new Set(golden.map(([, m]) => m.type));
    for (const t of Object.values(MessageType)) expect(covered.has(t), `type ${t}`).toBe(true);
  });

  for (const [name, msg, bytes] of golden) {
    it(`encodes ${name}`, () => {
      expect(toHex(encodeMessage(msg))).toBe(bytes.replace(/\s+/g, ''));
    });
    it(`decodes ${name}`, () => {
      expect(decodeMessage(hex(bytes))).toEqual(msg);
    });
  }
});

describe('reserved fields and V bits are ignored on decode', () => {
  const cases: [string, string, ApiMessage][] = [
    [
      'ANNOUNCE reserved',
      '000a 01f4 03 ff 1234 dead',
      { type: 500, ttl: 3, dataType: 0x1234, data: hex('dead') },
    ],
    ['NOTIFY reserved', '0008 01f5 ffff 1234', { type: 501, dataType: 0x1234 }],
    ['VALIDATION bits 15..1 set, V=0', '0008 01f7 0007 fffe', { type: 503, messageId: 7, valid: false }],
    ['VALIDATION bits 15..1 set, V=1', '0008 01f7 0007 ffff', { type: 503, messageId: 7, valid: true }],
    [
      'RPS PEER flags 0xfe → IPv4',
      '000d 021d 0001 00 fe 01020304 aa',
      { type: 541, port: 1, portmap: [], address: '1.2.3.4', hostkey: hex('aa') },
    ],
    [
      'BUILD flags 0xfffe → IPv4',
      '000d 0230 fffe 0001 01020304 aa',
      { type: 560, port: 1, address: '1.2.3.4', hostkey: hex('aa') },
    ],
    [
      'BUILD flags 0x0003 → IPv6',
      '0019 0230 0003 0001 fe800000 00000000 00000000 00000001 aa',
      { type: 560, port: 1, address: 'fe80::1', hostkey: hex('aa') },
    ],
    ['ERROR reserved', '000c 0235 0230 abcd 00000009', { type: 565, requestType: 560, tunnelId: 9 }],
    ['COVER reserved', '0008 0236 0400 ffff', { type: 566, coverSize: 1024 }],
    [
      'PUT reserved',
      `0029 028a 0e10 03 ff ${KEY_HEX} ab`,
      { type: 650, ttl: 3600, replication: 3, key: KEY, value: hex('ab') },
    ],
  ];
  for (const [name, bytes, msg] of cases) {
    it(name, () => expect(decodeMessage(hex(bytes))).toEqual(msg));
  }
});

describe('decoded byte fields are copies', () => {
  it('survive reuse of the input buffer', () => {
    const frame = hex(`0027 028c ${KEY_HEX} c0ffee`);
    const msg = decodeMessage(frame);
    frame.fill(0);
    expect(msg).toEqual({ type: 652, key: KEY, value: hex('c0ffee') });
  });

  it('work on a subarray view with a non-zero byteOffset', () => {
    const backing = hex(`ffffff 000a 0234 0000002a cafe ffff`);
    const msg = decodeMessage(backing.subarray(3, 13));
    expect(msg).toEqual({ type: 564, tunnelId: 42, data: hex('cafe') });
    if (msg.type !== 564) throw new Error('type');
    expect(msg.data.buffer).not.toBe(backing.buffer);
  });
});

describe('peekHeader / isKnownType', () => {
  it('reads size and type', () => {
    expect(peekHeader(hex('000a 01f4 03'))).toEqual({ size: 10, type: 500 });
    expect(peekHeader(hex('ffff ffff'))).toEqual({ size: 65535, type: 65535 });
  });
  it('knows exactly the table types', () => {
    for (const t of Object.values(MessageType)) expect(isKnownType(t)).toBe(true);
    for (const t of [0, 499, 504, 522, 542, 567, 600, 649, 654, 680, 65535])
      expect(isKnownType(t)).toBe(false);
  });
});
