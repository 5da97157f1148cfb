// RPS learning peers from signed announcements through the real Gossip module (no RPS
// bootstrapper): validation of good and forged announcements, and a restarted relay answering
// from its store before it has rejoined Gossip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { RPS_DATA_TYPE } from '../../relay/rps/record.ts';
import { peerId, type RpsNet, startRpsNet, until } from './rps-helpers.ts';

const N = 8;
let t: RpsNet;

beforeAll(async () => {
  t = await startRpsNet({ relays: N, gossip: true, nse: true, set: { 'nse.round_seconds': '2' } });
  await until(() => t.rps.every((m) => m!.node.peers.size === N - 1), 30_000, 'all relays learnt via gossip');
}, 90_000);

afterAll(async () => {
  await t?.close();
});

describe('rps over gossip', () => {
  it('learns every relay from validated announcements', async () => {
    for (const m of t.rps) expect(m!.gossip!.counts.valid).toBeGreaterThan(0);
    const got = await t.query(2, 10);
    for (const p of got) {
      const j = t.identities.indexOf(peerId(p));
      expect(j).toBeGreaterThanOrEqual(0);
      expect(j).not.toBe(2);
    }
  });

  it('marks forged announcements invalid', async () => {
    const before = t.rps[5]!.gossip!.counts.invalid;
    const sizes = t.rps.map((m) => m!.node.peers.size);
    const c = await ApiClient.connect(t.net.relays[1]!.api.gossip!);
    try {
      // A record of relay 1 with one byte of the signature flipped.
      const forged = t.rps[1]!.node.refreshOwn().bytes.slice();
      forged[forged.length - 1]! ^= 1;
      c.send({ type: 500, ttl: 0, dataType: RPS_DATA_TYPE, data: forged });
      c.send({ type: 500, ttl: 0, dataType: RPS_DATA_TYPE, data: new Uint8Array([1, 2, 3]) });
      // Relay 1's own RPS sees them first (local subscriber) and rejects them.
      await until(() => t.rps[1]!.gossip!.counts.invalid >= 2, 10_000, 'local RPS rejects forged records');
    } finally {
      c.close();
    }
    // Gossip spreads a local client's announcement; every RPS that receives it answers invalid
    // (so Gossip spreads it no further) and learns nothing from it.
    await until(
      () => t.rps[5]!.gossip!.counts.invalid >= before + 2,
      10_000,
      'remote RPS rejects forged records',
    );
    expect(t.rps.map((m) => m!.node.peers.size)).toEqual(sizes);
  });

  it('a relay restarted with its store answers before it has rejoined gossip', async () => {
    const k = 4;
    await t.rps[k]!.save();
    await t.stop(k);
    await t.net.relays[k]!.stop(); // gossip and NSE of relay k are gone
    const m = await t.start(k);
    expect(m.gossip!.connected).toBe(false);
    const got = await t.query(k, 5, 8_000);
    for (const p of got) expect(t.identities.indexOf(peerId(p))).not.toBe(k);
    expect(m.gossip!.connected).toBe(false);
  });
});
