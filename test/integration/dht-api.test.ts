// DHT API conformance on real relays (loopback): PUT then GET on the same relay, unknown key ->
// FAILURE within get_timeout, empty-value PUT closes only that connection, and GET elsewhere.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { dhtGetEventually } from '../../relay/dht/client.ts';
import { createLogger } from '../../relay/log.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';

const key = () => new Uint8Array(randomBytes(32));
let net: Testnet;

beforeAll(async () => {
  net = await startTestnet({
    relays: 4,
    only: ['dht'],
    set: { 'dht.pow_bits': '4', 'dht.get_timeout': '3000', 'dht.request_timeout': '1000' },
    log: createLogger('testnet', 'warn'),
  });
});
afterAll(async () => {
  await net?.stop();
});

describe('DHT API', () => {
  it('PUT then GET on the same relay returns the exact value', async () => {
    const c = await ApiClient.connect(net.relays[1]!.api.dht!);
    const k = key();
    const value = new Uint8Array(randomBytes(1000));
    c.send({ type: 650, ttl: 60, replication: 0, key: k, value });
    const reply = await c.request({ type: 651, key: k }, 652, 5000);
    expect(Buffer.from(reply.key).equals(k)).toBe(true);
    expect(Buffer.from(reply.value).equals(value)).toBe(true);
    c.close();
  });

  it('a value PUT at one relay is found by GET at the others', async () => {
    const put = await ApiClient.connect(net.relays[2]!.api.dht!);
    const k = key();
    const value = new TextEncoder().encode('hello dht');
    put.send({ type: 650, ttl: 60, replication: 3, key: k, value });
    // The PUT has no reply: poll GETs until the store went out (bounded by the test timeout).
    for (const r of [0, 1, 3]) {
      const c = await ApiClient.connect(net.relays[r]!.api.dht!);
      const got = await dhtGetEventually(c, k);
      expect(got && new TextDecoder().decode(got)).toBe('hello dht');
      c.close();
    }
    put.close();
  });

  it('unknown key -> FAILURE within get_timeout', async () => {
    const c = await ApiClient.connect(net.relays[3]!.api.dht!);
    const k = key();
    const reply = await c.request({ type: 651, key: k }, 653, 6000);
    expect(Buffer.from(reply.key).equals(k)).toBe(true);
    c.close();
  });

  it('an empty-value PUT closes only that connection', async () => {
    const bad = await ApiClient.connect(net.relays[0]!.api.dht!);
    const good = await ApiClient.connect(net.relays[0]!.api.dht!);
    // size 40, type 650, ttl, replication, reserved, key, no value
    const frame = new Uint8Array(40);
    new DataView(frame.buffer).setUint16(0, 40);
    new DataView(frame.buffer).setUint16(2, 650);
    bad.sendRaw(frame);
    await bad.waitClosed(5000);
    const k = key();
    good.send({ type: 650, ttl: 60, replication: 0, key: k, value: Uint8Array.of(7) });
    const reply = await good.request({ type: 651, key: k }, 652, 5000);
    expect([...reply.value]).toEqual([7]);
    good.close();
  });
});
