// Stored data survives a restart (on-disk store), and a relay that joins gets the values it is
// now among the closest to (re-replication on join), even once everyone else has left.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { dhtGet, dhtGetEventually } from '../../relay/dht/client.ts';
import { decodeValues } from '../../relay/dht/persist.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { compareDistance } from '../../relay/dht/xor.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';
import { getKeys } from '../keypool.ts';

const SET = { 'dht.pow_bits': '4', 'dht.get_timeout': '5000', 'dht.request_timeout': '1000' };
const log = createLogger('testnet', 'warn');
const nets: Testnet[] = [];
afterAll(async () => {
  await Promise.all(nets.map((n) => n.stop()));
});

describe('DHT churn', () => {
  it('a relay restarted with everyone else gone still answers from its on-disk store', async () => {
    const net = await startTestnet({ relays: 3, only: ['dht'], set: SET, log });
    nets.push(net);
    const key = new Uint8Array(randomBytes(32));
    const value = new Uint8Array(randomBytes(2000));
    const c = await ApiClient.connect(net.relays[1]!.api.dht!);
    c.send({ type: 650, ttl: 600, replication: 0, key, value });
    expect(await dhtGetEventually(c, key)).toEqual(value);
    c.close();
    await Promise.all(net.relays.map((r) => r.stop())); // flushes every store (net.stop would remove it)
    await net.relays[1]!.start();
    const again = await ApiClient.connect(net.relays[1]!.api.dht!);
    expect(await dhtGet(again, key)).toEqual(value);
    again.close();
  });

  it('a joining relay receives the values it is closest to', async () => {
    const net = await startTestnet({ relays: 5, only: ['dht'], set: SET, log });
    nets.push(net);
    // The joiner: a pool key no relay of `net` uses, in a key folder of its own.
    const [spare] = (await getKeys(32)).slice(31);
    const keysDir = mkdtempSync(join(tmpdir(), 'dht-joiner-keys-'));
    mkdirSync(keysDir, { recursive: true });
    copyFileSync(spare!, join(keysDir, 'key-0.pem'));
    const key = (await loadHostkey(spare!)).identity; // the joiner will be the closest node there is
    const value = new Uint8Array(randomBytes(300));
    const c = await ApiClient.connect(net.relays[2]!.api.dht!);
    c.send({ type: 650, ttl: 600, replication: 0, key, value });
    expect(await dhtGetEventually(await ApiClient.connect(net.relays[4]!.api.dht!), key)).toEqual(value);
    c.close();

    const joiner = await startTestnet({
      relays: 1,
      only: ['dht'],
      keysDir,
      set: { ...SET, 'dht.bootstrapper': net.relays[0]!.p2p.dht! },
      log,
    });
    nets.push(joiner);
    // The handover is visible in the joiner's on-disk store: wait for it there (bounded).
    const file = join(joiner.dir, 'dht-0', 'values.bin');
    const holds = () => {
      try {
        return decodeValues(readFileSync(file)).some((v) => Buffer.from(v.key).equals(key));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && !holds(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(holds()).toBe(true);
    await net.stop();
    const jc = await ApiClient.connect(joiner.relays[0]!.api.dht!);
    expect(await dhtGet(jc, key)).toEqual(value);
    jc.close();
  });

  it('the storer republishes: replicas lost to churn are replaced before the storer leaves', async () => {
    const net = await startTestnet({
      relays: 7,
      only: ['dht'],
      // k = 3 with 2 replicas stopped: a NODES reply names the responder's k closest contacts, and
      // with k = 2 those can be just the two stopped relays (nobody has noticed yet), so the lookup
      // may never learn of the fourth closest. Kademlia needs k above the failures it rides out.
      set: { ...SET, 'dht.k': '3', 'dht.republish_interval': '1' },
      log,
    });
    nets.push(net);
    const key = new Uint8Array(randomBytes(32));
    const value = new Uint8Array(randomBytes(500));
    const storer = net.relays[1]!;
    const byDistance = net.relays
      .filter((r) => r !== storer)
      .sort((a, b) => compareDistance(key, Buffer.from(a.identity, 'hex'), Buffer.from(b.identity, 'hex')));
    const holds = (i: number) => {
      try {
        const file = join(net.dir, `dht-${i}`, 'values.bin');
        return decodeValues(readFileSync(file)).some((v) => Buffer.from(v.key).equals(key));
      } catch {
        return false;
      }
    };
    const waitHeld = async (i: number) => {
      for (let t = 0; t < 100 && !holds(i); t++) await new Promise((r) => setTimeout(r, 100));
      return holds(i);
    };
    const c = await ApiClient.connect(storer.api.dht!);
    c.send({ type: 650, ttl: 600, replication: 0, key, value });
    const [first, second, third, fourth] = byDistance;
    expect(await waitHeld(first!.index)).toBe(true);
    expect(await waitHeld(second!.index)).toBe(true);
    await Promise.all([first!.stop(), second!.stop()]);
    // Republishing (every second here) must now reach the next two closest relays.
    expect(await waitHeld(third!.index)).toBe(true);
    expect(await waitHeld(fourth!.index)).toBe(true);
    c.close();
    await storer.stop();
    const reader = byDistance.at(-1)!;
    const rc = await ApiClient.connect(reader.api.dht!);
    // Routing tables still name the stopped relays for a while: a first lookup may time out on them.
    expect(await dhtGetEventually(rc, key, 5, 200)).toEqual(value);
    rc.close();
  });
});
