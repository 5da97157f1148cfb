// 30 relays of which 20% lie: they answer lookups with wrong nodes (their fellow liars, then the
// contacts farthest from the target), never return values, and acknowledge STOREs they drop.
// The GET success rate of the honest relays is reported (goal >= 99% with disjoint paths).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { dhtGet, dhtGetEventually } from '../../relay/dht/client.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';
import { getKeys } from '../keypool.ts';

const N = 30;
const LIARS = new Set([3, 7, 11, 15, 19, 23]); // 20%, the bootstrapper (0) stays honest
const KEYS = 8;
let net: Testnet;
const clients: ApiClient[] = [];

beforeAll(async () => {
  const keys = await getKeys(N);
  const ids = await Promise.all(
    keys.map(async (k) => Buffer.from((await loadHostkey(k)).identity).toString('hex')),
  );
  const colluders = [...LIARS].map((i) => ids[i]).join(',');
  net = await startTestnet({
    relays: N,
    only: ['dht'],
    set: { 'dht.pow_bits': '4', 'dht.get_timeout': '20000', 'dht.request_timeout': '2000' },
    setFor: (i): Record<string, string> =>
      LIARS.has(i) ? { 'dht.misbehave': 'liar', 'dht.colluders': colluders } : {},
    log: createLogger('testnet', 'warn'),
  });
  for (const r of net.relays) clients.push(await ApiClient.connect(r.api.dht!));
});
afterAll(async () => {
  for (const c of clients) c.close();
  await net?.stop();
});

describe('DHT with 20% lying relays', () => {
  it('honest relays still GET what honest relays PUT', async () => {
    const honest = net.relays.filter((r) => !LIARS.has(r.index)).map((r) => r.index);
    const items = Array.from({ length: KEYS }, (_, i) => ({
      key: new Uint8Array(randomBytes(32)),
      value: new Uint8Array(randomBytes(100 + i)),
      at: honest[(i * 5 + 1) % honest.length]!,
    }));
    for (const it of items)
      clients[it.at]!.send({ type: 650, ttl: 300, replication: 0, key: it.key, value: it.value });
    // Each PUT has gone out once a relay other than its storer sees it.
    for (const it of items)
      expect(await dhtGetEventually(clients[it.at === 0 ? 1 : 0]!, it.key)).toEqual(it.value);
    let ok = 0;
    let total = 0;
    for (const it of items) {
      const got = await Promise.all(honest.map((i) => dhtGet(clients[i]!, it.key, 30_000)));
      total += got.length;
      ok += got.filter((v) => v && Buffer.from(v).equals(it.value)).length;
    }
    const rate = ok / total;
    console.log(
      `DHT GET success with 20% liars (k=20, 3 disjoint paths): ${ok}/${total} = ${(rate * 100).toFixed(1)}%`,
    );
    expect(rate).toBeGreaterThanOrEqual(0.99);
  });
});
