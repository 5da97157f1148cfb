import { isIPv6 as nodeIsIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AddressError,
  bytesToIp,
  formatAddress,
  ipToBytes,
  ipv4ToBytes,
  ipv6ToBytes,
  isIPv6,
  parseAddress,
} from '../../shared/address.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('parseAddress / formatAddress', () => {
  const good: [string, string, number][] = [
    ['[::1]:80', '::1', 80],
    ['1.2.3.4:5', '1.2.3.4', 5],
    ['localhost:1', 'localhost', 1],
    ['[2001:db8::1]:65535', '2001:db8::1', 65535],
    ['example.org:0', 'example.org', 0],
    ['  10.0.0.1:7000 ', '10.0.0.1', 7000],
  ];
  for (const [text, host, port] of good) {
    it(`parses ${JSON.stringify(text)}`, () => {
      expect(parseAddress(text)).toEqual({ host, port });
      expect(formatAddress({ host, port })).toBe(text.trim());
    });
  }

  const bad = [
    '1.2.3.4',
    '1.2.3.999:1',
    '[::1]:70000',
    '1.2.3.4:',
    '1.2.3.4:x',
    '1.2.3.4:123456',
    ':80',
    '::1:80',
    '[::1]80',
    '[::1',
    '[1.2.3.4]:80',
    '[::g]:1',
    '1.2.3:4',
    'bad_host:1',
    '-bad:1',
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => expect(() => parseAddress(text)).toThrow(AddressError));
  }
});

describe('IPv4', () => {
  it('round-trips', () => {
    expect(hex(ipv4ToBytes('1.2.3.4'))).toBe('01020304');
    expect(hex(ipToBytes('255.255.255.255'))).toBe('ffffffff');
    expect(bytesToIp(Uint8Array.of(192, 168, 0, 1))).toBe('192.168.0.1');
  });
  for (const bad of [
    '01.2.3.4',
    '1.2.3.00',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1..2.3',
    'a.b.c.d',
    '1.2.3.4 ',
    '',
    '-1.2.3.4',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => expect(() => ipv4ToBytes(bad)).toThrow(AddressError));
  }
});

describe('IPv6', () => {
  const canonical: [string, string][] = [
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['fe80::1', 'fe800000000000000000000000000001'],
    ['2001:db8::ff00:42:8329', '20010db8000000000000ff0000428329'],
    ['1::', '00010000000000000000000000000000'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:0:0:2::3', '00010000000000020000000000000003'], // the longer zero run is compressed
    ['1::2:0:0:3', '00010000000000000002000000000003'],
    ['1:0:1:1:1:1:1:1', '00010000000100010001000100010001'], // a single zero group is not compressed
  ];
  for (const [text, bytes] of canonical) {
    it(`${text} ↔ ${bytes}`, () => {
      expect(hex(ipToBytes(text))).toBe(bytes);
      expect(bytesToIp(Buffer.from(bytes, 'hex'))).toBe(text);
    });
  }

  it('compresses the first of two equally long zero runs', () => {
    expect(bytesToIp(Buffer.from('00010000000000020000000000030004', 'hex'))).toBe('1::2:0:0:3:4');
  });

  it('parses embedded IPv4 and non-canonical forms', () => {
    expect(hex(ipToBytes('::ffff:1.2.3.4'))).toBe('00000000000000000000ffff01020304');
    expect(hex(ipToBytes('::1.2.3.4'))).toBe('00000000000000000000000001020304');
    expect(hex(ipToBytes('1:2:3:4:5:6:1.2.3.4'))).toBe('00010002000300040005000601020304');
    expect(hex(ipToBytes('2001:DB8:0:0:0:0:0:1'))).toBe('20010db8000000000000000000000001');
    expect(hex(ipToBytes('0:0::1'))).toBe('00000000000000000000000000000001');
    expect(bytesToIp(ipToBytes('2001:DB8:0:0:0:0:0:1'))).toBe('2001:db8::1');
  });

  const bad = [
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4::5:6:7:8',
    '12345::',
    'g::',
    ':1::',
    '1:2:3:4:5:6:7:',
    '::1.2.3',
    '::1.2.3.4:1',
    '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::1%eth0',
    '::ffff:1.2.3.04',
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => expect(() => ipv6ToBytes(text)).toThrow(AddressError));
  }

  it('isIPv6 distinguishes the families', () => {
    expect(isIPv6('::1')).toBe(true);
    expect(isIPv6('1.2.3.4')).toBe(false);
  });

  it('bytesToIp rejects other lengths', () => {
    expect(() => bytesToIp(new Uint8Array(5))).toThrow(AddressError);
    expect(() => bytesToIp(new Uint8Array(0))).toThrow(AddressError);
  });

  it('property: bytes → text → bytes, and text matches the WHATWG URL serialiser', () => {
    // Bias towards zero groups so that compression paths are exercised.
    const word = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (words) => {
        const b = new Uint8Array(16);
        for (const [i, w] of words.entries()) b.set([w >> 8, w & 0xff], 2 * i);
        const text = bytesToIp(b);
        expect(nodeIsIPv6(text)).toBe(true);
        expect(hex(ipToBytes(text))).toBe(hex(b));
        // URL uses RFC 5952 compression too, but never dotted IPv4 — neither do we.
        expect(`[${text}]`).toBe(new URL(`http://[${text}]/`).hostname);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: anything node accepts as IPv6 (no zone) parses to the same bytes as URL', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        expect(nodeIsIPv6(text)).toBe(true);
        const viaUrl = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        expect(hex(ipToBytes(text))).toBe(hex(ipToBytes(viaUrl)));
        expect(bytesToIp(ipToBytes(text))).toBe(viaUrl);
      }),
      { numRuns: 2000 },
    );
  });
});
