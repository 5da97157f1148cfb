// Relay families and subnets: a path (hops and destination) never holds two relays of one family,
// never a relay of our own family, nor two relays in one /16.
import { expect, it } from 'vitest';
import { parseConfigText } from '../../relay/config.ts';
import { createLogger } from '../../relay/log.ts';
import { readOnionConfig } from '../../relay/onion/config.ts';
import { Families, parseFamilies, sameSubnet } from '../../relay/onion/family.ts';
import type { HopPeer } from '../../relay/onion/origin.ts';
import { choosePath, type PathContext } from '../../relay/onion/paths.ts';

const id = (i: number) => Buffer.alloc(32, i).toString('hex');
const peer = (i: number, host: string): HopPeer => ({
  host,
  port: 9000 + i,
  der: new Uint8Array([i]),
  identity: new Uint8Array(32).fill(i),
  idHex: id(i),
});
// 12 relays: 1-3 in 10.1/16, the rest one per /16.
const peers = Array.from({ length: 12 }, (_, k) => {
  const i = k + 1;
  return peer(i, i <= 3 ? `10.1.0.${i}` : `10.${i}.0.1`);
});
const log = createLogger('test', 'error');

function ctx(families: Families): PathContext {
  return {
    origin: undefined as never, // choosePath builds nothing
    peers: { randomPeer: async () => peers[Math.floor(Math.random() * peers.length)], close: () => {} },
    selfId: id(99),
    hops: 3,
    log,
    families,
  };
}

it('never puts two relays of one family, one of ours, or two of one /16 in a path', async () => {
  // Our family: 4 and 5 (and us). Another operator: 6, 7, 8.
  const f = new Families(id(99), [id(4), id(5)], [[id(6), id(7), id(8)]], true);
  const dest = peers[11]!; // relay 12
  let full = 0;
  for (let n = 0; n < 300; n++) {
    const path = await choosePath(ctx(f), dest);
    if (path.length < 3) continue;
    full++;
    const all = [...path, dest].map((p) => Number.parseInt(p.idHex.slice(0, 2), 16));
    expect(all.filter((i) => i === 4 || i === 5)).toEqual([]);
    expect(all.filter((i) => i >= 6 && i <= 8).length).toBeLessThanOrEqual(1);
    expect(all.filter((i) => i <= 3).length).toBeLessThanOrEqual(1);
  }
  expect(full).toBeGreaterThan(200);
});

it('parses families and compares subnets', () => {
  expect(parseFamilies(`${id(1)}, ${id(2)} | $${id(3).toUpperCase()}`)).toEqual([[id(1), id(2)], [id(3)]]);
  expect(() => parseFamilies('abc')).toThrow(/64 hex/);
  expect(sameSubnet('203.0.113.5', '203.0.7.9')).toBe(true);
  expect(sameSubnet('203.0.113.5', '203.1.113.5')).toBe(false);
  expect(sameSubnet('2001:db8:1::1', '2001:db8:2::1')).toBe(true);
  expect(sameSubnet('2001:db8::1', '2001:db9::1')).toBe(false);
  expect(sameSubnet('relay.example', 'relay.example')).toBe(false);
  // Off (testnets on loopback): the same /16 is fine.
  const off = new Families(id(99), [], [], false);
  expect(off.fits(peers[0]!, [peers[1]!])).toBe(true);
});

it('reads family, families and distinct_subnets from [onion], naming the key on a bad id', () => {
  const base = 'hostkey = k.pem\n[onion]\napi_address = 127.0.0.1:7003\n';
  const c = readOnionConfig(
    parseConfigText(
      '/x/peer.ini',
      `${base}family = ${id(1)}, ${id(2)}\nfamilies = ${id(3)},${id(4)} | ${id(5)}\n`,
    ),
  );
  expect(c.family).toEqual([id(1), id(2)]);
  expect(c.families).toEqual([[id(3), id(4)], [id(5)]]);
  expect(c.distinctSubnets).toBe(false); // loopback testnet
  const pub = readOnionConfig(
    parseConfigText('/x/peer.ini', `${base}p2p_address = 0.0.0.0:7004\np2p_advertise = 203.0.113.9\n`),
  );
  expect(pub.distinctSubnets).toBe(true);
  expect(() => readOnionConfig(parseConfigText('/x/peer.ini', `${base}family = nope\n`))).toThrow(
    /\/x\/peer\.ini: \[onion\] family: "nope" is not a relay identity/,
  );
});

it('finds the one usable hop of a 4-relay network without giving up the path', async () => {
  // RPS knows 4 relays: us, the destination, and two others; a 2-hop path needs both others. Each
  // draw is usable with chance 1/4 at the second hop. Old code (8 draws): ~1 path in 10 fell short.
  const four = [peer(1, '10.1.0.1'), peer(2, '10.2.0.1'), peer(3, '10.3.0.1')];
  const self = { ...peer(99, '10.99.0.1') };
  const c: PathContext = {
    ...ctx(new Families(id(99), [], [], false)),
    peers: {
      randomPeer: async () => [...four, self][Math.floor(Math.random() * 4)],
      close: () => {},
    },
    hops: 2,
  };
  let short = 0;
  for (let n = 0; n < 300; n++) if ((await choosePath(c, four[2]!)).length < 2) short++;
  expect(short).toBeLessThanOrEqual(3); // new: (3/4)^24 = 0.1 % per path, old 10 %
});
