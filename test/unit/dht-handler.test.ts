// Answers to DHT requests: PING, FIND_NODE (k closest, never the asker), FIND_VALUE, STORE within
// quota and only for keys near us; and the test-only liar.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type HandlerDeps, handleRequest } from '../../relay/dht/handler.ts';
import { type Contact, RoutingTable } from '../../relay/dht/routing.ts';
import { ValueStore } from '../../relay/dht/storage.ts';
import { idEquals, randomIdInBucket, sortByDistance } from '../../relay/dht/xor.ts';

const id = () => new Uint8Array(randomBytes(32));
const rnd = (n: number) => new Uint8Array(randomBytes(n));
const peer = 'ab'.repeat(32);

function deps(o: Partial<HandlerDeps> = {}): HandlerDeps {
  const self = id();
  return {
    routing: new RoutingTable(self, { k: 20, ping: async () => true }),
    store: new ValueStore({ perPeerBytes: 1000, totalBytes: 1e6, maxEntries: 100 }, () => 1_000_000),
    k: 5,
    maxTtl: 100,
    liar: false,
    storeRankLimit: 10,
    colluders: new Set(),
    now: () => 1_000_000,
    ...o,
  };
}
const contact = (i: Uint8Array): Contact => ({ id: i, host: '127.0.0.1', port: 4000 });

describe('DHT request handler', () => {
  it('answers PING and FIND_NODE with the k closest, leaving out the asker', () => {
    const d = deps();
    const cs = Array.from({ length: 30 }, () => contact(id()));
    for (const c of cs) d.routing.seen(c);
    expect(handleRequest(d, undefined, { type: 1100, rid: 4 }, peer)).toEqual({ type: 1101, rid: 4 });
    const target = id();
    const asker = sortByDistance(target, cs)[0]!;
    const r = handleRequest(d, asker, { type: 1102, rid: 5, target }, peer);
    expect(r.type).toBe(1103);
    if (r.type !== 1103) return;
    expect(r.nodes).toHaveLength(5);
    expect(r.nodes.some((c) => idEquals(c.id, asker.id))).toBe(false);
  });

  it('stores within quota with the TTL capped, then returns the value to FIND_VALUE', () => {
    const d = deps();
    const key = id();
    const r = handleRequest(
      d,
      undefined,
      { type: 1106, rid: 1, ttl: 9999, key, value: Uint8Array.of(7) },
      peer,
    );
    expect(r).toEqual({ type: 1107, rid: 1, status: 0 });
    expect(d.store.get(key)?.expiresAt).toBe(1_000_000 + 100_000);
    expect(handleRequest(d, undefined, { type: 1104, rid: 2, target: key }, peer)).toMatchObject({
      type: 1105,
      ttl: 100,
      value: Uint8Array.of(7),
    });
    expect(
      handleRequest(d, undefined, { type: 1106, rid: 3, ttl: 10, key: id(), value: rnd(990) }, peer),
    ).toMatchObject({
      status: 1,
    });
    expect(
      handleRequest(d, undefined, { type: 1106, rid: 4, ttl: 0, key: id(), value: rnd(1) }, peer),
    ).toMatchObject({
      status: 3,
    });
  });

  it('refuses STOREs for keys far from us', () => {
    const d = deps();
    const self = d.routing.self;
    // 12 contacts that share 8 bits with a key far from us (key differs from self in bit 0).
    const key = randomIdInBucket(self, 0, rnd);
    for (let i = 0; i < 12; i++) d.routing.seen(contact(randomIdInBucket(key, 8, rnd)));
    expect(
      handleRequest(d, undefined, { type: 1106, rid: 1, ttl: 10, key, value: rnd(1) }, peer),
    ).toMatchObject({
      status: 3,
    });
    expect(d.store.size).toBe(0);
  });

  it('the liar returns fellow liars first, no values, and drops STOREs it acknowledges', () => {
    const liarIds = [id(), id()];
    const d = deps({ liar: true, colluders: new Set(liarIds.map((x) => Buffer.from(x).toString('hex'))) });
    for (const x of [...liarIds, id(), id(), id()]) d.routing.seen(contact(x));
    const key = id();
    expect(
      handleRequest(d, undefined, { type: 1106, rid: 1, ttl: 10, key, value: rnd(1) }, peer),
    ).toMatchObject({
      status: 0,
    });
    expect(d.store.size).toBe(0);
    const r = handleRequest(d, undefined, { type: 1104, rid: 2, target: key }, peer);
    expect(r.type).toBe(1103);
    if (r.type === 1103) expect(liarIds.some((x) => idEquals(x, r.nodes[0]!.id))).toBe(true);
  });
});
