// XOR metric and k-bucket routing table: ordering, bucket placement, LRS kept while alive,
// evicted when its ping fails, failures dropping contacts.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Contact, RoutingTable } from '../../relay/dht/routing.ts';
import {
  commonPrefixLength,
  compareDistance,
  idEquals,
  randomIdInBucket,
  sortByDistance,
  xorDistance,
} from '../../relay/dht/xor.ts';

const id = () => new Uint8Array(randomBytes(32));
const contact = (i: Uint8Array, port = 1000): Contact => ({ id: i, host: '127.0.0.1', port });
const arbId = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** An id sharing exactly `bits` leading bits with `self`. */
const inBucket = (self: Uint8Array, bits: number) =>
  randomIdInBucket(self, bits, (n) => new Uint8Array(randomBytes(n)));
const flush = () => new Promise((r) => setImmediate(r));

describe('xor metric', () => {
  it('distance is symmetric, zero only to itself, and compare agrees with it', () => {
    fc.assert(
      fc.property(arbId, arbId, arbId, (t, a, b) => {
        expect(xorDistance(a, b)).toEqual(xorDistance(b, a));
        expect(xorDistance(a, a).every((x) => x === 0)).toBe(true);
        const da = Buffer.from(xorDistance(t, a));
        const db = Buffer.from(xorDistance(t, b));
        expect(Math.sign(compareDistance(t, a, b))).toBe(Math.sign(Buffer.compare(da, db)));
      }),
    );
  });

  it('common prefix length counts leading equal bits', () => {
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    expect(commonPrefixLength(a, b)).toBe(256);
    b[0] = 0x80;
    expect(commonPrefixLength(a, b)).toBe(0);
    b[0] = 0;
    b[2] = 0x01;
    expect(commonPrefixLength(a, b)).toBe(23);
  });

  it('randomIdInBucket lands in the asked bucket', () => {
    fc.assert(
      fc.property(arbId, fc.integer({ min: 0, max: 255 }), (self, bits) => {
        expect(commonPrefixLength(self, inBucket(self, bits))).toBe(bits);
      }),
    );
  });

  it('sortByDistance puts the target itself first', () => {
    const t = id();
    const sorted = sortByDistance(t, [contact(id()), contact(t), contact(id())]);
    expect(idEquals(sorted[0]!.id, t)).toBe(true);
  });
});

describe('routing table', () => {
  const self = id();

  it('places contacts by prefix length and answers closest()', () => {
    const rt = new RoutingTable(self, { k: 100, ping: async () => true }); // no bucket overflows here
    const cs = Array.from({ length: 50 }, () => contact(id()));
    for (const c of cs) rt.seen(c);
    const t = id();
    const best = sortByDistance(t, cs).slice(0, 5);
    const got = rt.closest(t, 5);
    expect(got.map((c) => Buffer.from(c.id).toString('hex'))).toEqual(
      best.map((c) => Buffer.from(c.id).toString('hex')),
    );
    rt.seen(contact(self));
    expect(rt.has(self)).toBe(false);
  });

  it('keeps the least-recently-seen contact of a full bucket while it answers pings', async () => {
    const pinged: Contact[] = [];
    const ping = async (c: Contact) => {
      pinged.push(c);
      return true;
    };
    const rt = new RoutingTable(self, { k: 3, ping });
    const members = [1, 2, 3].map(() => contact(inBucket(self, 0)));
    for (const c of members) rt.seen(c);
    const newcomer = contact(inBucket(self, 0));
    rt.seen(newcomer);
    await flush();
    expect(idEquals(pinged[0]!.id, members[0]!.id)).toBe(true);
    expect(rt.has(members[0]!.id)).toBe(true);
    expect(rt.has(newcomer.id)).toBe(false);
  });

  it('evicts the LRS contact when its ping fails and takes the replacement', async () => {
    const rt = new RoutingTable(self, { k: 3, ping: async () => false });
    const members = [1, 2, 3].map(() => contact(inBucket(self, 0)));
    for (const c of members) rt.seen(c);
    const newcomer = contact(inBucket(self, 0));
    rt.seen(newcomer);
    await flush();
    await flush();
    expect(rt.has(members[0]!.id)).toBe(false);
    expect(rt.has(newcomer.id)).toBe(true);
    expect(rt.size).toBe(3);
  });

  it('drops a contact after repeated failures', () => {
    const rt = new RoutingTable(self, { k: 20, ping: async () => true, maxFails: 2 });
    const c = contact(id());
    rt.seen(c);
    rt.failed(c);
    expect(rt.has(c.id)).toBe(true);
    rt.failed(c);
    expect(rt.has(c.id)).toBe(false);
  });

  it('counts a failure only at the address it holds for that id', () => {
    const rt = new RoutingTable(self, { k: 20, ping: async () => true, maxFails: 2 });
    const c = contact(id(), 1000);
    rt.seen(c);
    // A NODES reply named c's id with a bogus port: dials there fail, c stays.
    for (let i = 0; i < 5; i++) rt.failed(contact(c.id, 6666));
    expect(rt.has(c.id)).toBe(true);
    rt.failed(contact(c.id, 1000));
    rt.failed(contact(c.id, 1000));
    expect(rt.has(c.id)).toBe(false);
  });

  it('a known contact seen at a new address is updated, not announced as added again', () => {
    const added: Contact[] = [];
    const rt = new RoutingTable(self, { k: 20, ping: async () => true, onAdded: (c) => added.push(c) });
    const c = contact(id(), 1000);
    rt.seen(c);
    for (let i = 0; i < 10; i++) rt.seen(contact(c.id, 2000 + (i % 2)));
    expect(added).toHaveLength(1);
    expect(rt.get(c.id)?.port).toBe(2001);
  });

  it('bounds every bucket to k and reports buckets to refresh', () => {
    let t = 0;
    const rt = new RoutingTable(self, { k: 4, ping: async () => true, now: () => t });
    for (let i = 0; i < 100; i++) rt.seen(contact(inBucket(self, 0)));
    expect(rt.size).toBe(4);
    t = 10_000;
    expect(rt.staleBuckets(5_000)).toContain(0);
    rt.touchBucket(0);
    expect(rt.staleBuckets(5_000)).not.toContain(0);
  });
});
