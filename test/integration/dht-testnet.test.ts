// 30 relays on loopback (in-process, DHT only): a value PUT at one relay is returned by GET at
// every other; with the 3 relays closest to the key stopped it still is; past its TTL it is gone.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { dhtGet, dhtGetEventually } from '../../relay/dht/client.ts';
import { createLogger } from '../../relay/log.ts';
import { startTestnet, type Testnet, type TestnetRelay } from '../../relay/dev/testnet.ts';
import { compareDistance } from '../../relay/dht/xor.ts';

const N = 30;
let net: Testnet;
const clients = new Map<number, ApiClient>();

async function client(i: number): Promise<ApiClient> {
  let c = clients.get(i);
  if (!c || c.closed) {
    c = await ApiClient.connect(net.relays[i]!.api.dht!);
    clients.set(i, c);
  }
  return c;
}

const idOf = (r: TestnetRelay) => Buffer.from(r.identity, 'hex');

beforeAll(async () => {
  net = await startTestnet({
    relays: N,
    only: ['dht'],
    set: { 'dht.pow_bits': '4', 'dht.get_timeout': '20000', 'dht.request_timeout': '2000' },
    log: createLogger('testnet', 'warn'),
  });
});
afterAll(async () => {
  for (const c of clients.values()) c.close();
  await net?.stop();
});

describe(`DHT on a ${N}-relay testnet`, () => {
  const key = new Uint8Array(randomBytes(32));
  const value = new Uint8Array(randomBytes(4000));

  it('a value PUT at one relay is returned by GET at every other relay', async () => {
    (await client(5)).send({ type: 650, ttl: 300, replication: 0, key, value });
    // The PUT has no reply: wait until the farthest-away relay can see it, then ask everyone.
    expect(await dhtGetEventually(await client(0), key)).toEqual(value);
    const got = await Promise.all(net.relays.map(async (_, i) => dhtGet(await client(i), key)));
    const ok = got.filter((v) => v && Buffer.from(v).equals(value)).length;
    expect(ok).toBe(N);
  });

  it('GET still succeeds everywhere with the 3 relays closest to the key stopped', async () => {
    const closest = [...net.relays].sort((a, b) => compareDistance(key, idOf(a), idOf(b))).slice(0, 3);
    // Never stop the storer's own relay here: this is about the replicas.
    await Promise.all(closest.filter((r) => r.index !== 5).map((r) => r.stop()));
    const alive = net.relays.filter((r) => r.running);
    for (const r of alive) clients.get(r.index)?.close();
    for (const r of closest) clients.delete(r.index);
    const got = await Promise.all(alive.map(async (r) => dhtGet(await client(r.index), key)));
    expect(got.filter((v) => v && Buffer.from(v).equals(value)).length).toBe(alive.length);
  });

  it('a value past its TTL is gone', async () => {
    const k2 = new Uint8Array(randomBytes(32));
    const alive = net.relays.filter((r) => r.running);
    const put = await client(alive[1]!.index);
    put.send({ type: 650, ttl: 2, replication: 0, key: k2, value: Uint8Array.of(1, 2, 3) });
    expect(await dhtGetEventually(await client(alive[2]!.index), k2)).toEqual(Uint8Array.of(1, 2, 3));
    await new Promise((r) => setTimeout(r, 2200)); // the TTL itself is what we test: wait it out
    const got = await Promise.all(alive.map(async (r) => dhtGet(await client(r.index), k2)));
    expect(got.every((v) => v === undefined)).toBe(true);
  });
});
