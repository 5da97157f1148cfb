// RPS on real relays (RPS bootstrapping over its own P2P protocol): conformance of RPS PEER,
// liveness after relays stop, answering from the store after a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerId, type RpsNet, startRpsNet, until } from './rps-helpers.ts';

const N = 10;
let t: RpsNet;

beforeAll(async () => {
  t = await startRpsNet({ relays: N });
  // Warm-up: every relay has learnt every other one.
  await until(() => t.rps.every((m) => m!.node.peers.size === N - 1), 20_000, 'all relays know each other');
});

afterAll(async () => {
  await t?.close();
});

describe('rps on a 10-relay testnet', () => {
  it('answers RPS QUERY with a live other relay, its hostkey and portmap', async () => {
    for (let i = 0; i < N; i++) {
      const peers = await t.query(i, 5);
      for (const p of peers) {
        const id = peerId(p);
        const j = t.identities.indexOf(id);
        expect(j).toBeGreaterThanOrEqual(0);
        expect(j).not.toBe(i);
        const relay = t.net.relays[j]!;
        const gossipPort = Number(relay.p2p.gossip!.split(':')[1]);
        const onionPort = Number(relay.p2p.onion!.split(':')[1]);
        expect(p.address).toBe('127.0.0.1');
        expect(p.port).toBe(gossipPort);
        expect(p.portmap).toContainEqual({ module: 500, port: gossipPort });
        expect(p.portmap).toContainEqual({ module: 560, port: onionPort });
      }
    }
  });

  it('stopped relays are not returned any more after 3 rounds', async () => {
    const dead = [6, 7, 8, 9];
    const deadIds = new Set(dead.map((i) => t.identities[i]));
    await Promise.all(dead.map((i) => t.stop(i)));
    // 3 rounds of 0.5 s, counted by relay 0's round counter.
    const r0 = t.rps[0]!.node;
    const start = r0.rounds;
    await until(() => r0.rounds >= start + 3, 10_000, '3 rounds');
    for (let i = 0; i < 6; i++) {
      const got = (await t.query(i, 30)).map(peerId);
      expect(got.filter((id) => deadIds.has(id))).toEqual([]);
    }
  });

  it('a restarted relay answers from its store at once', async () => {
    await t.rps[3]!.save();
    await t.stop(3);
    // Restarted without any bootstrapper: only the store can tell it about peers.
    const m = await t.start(3, undefined, false);
    expect(m.node.peers.size).toBeGreaterThan(0);
    const got = await t.query(3, 5, 5_000);
    for (const p of got) expect(t.identities.indexOf(peerId(p))).toBeGreaterThanOrEqual(0);
  });
});
