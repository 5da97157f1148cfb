// Churn on a 30-relay gossip network: stop 30% of the relays; the rest repair their neighbour sets
// and new items again reach (>= 99% of) every live relay within 30 s. A stopped relay that
// restarts rejoins through its bootstrapper.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { type GossipNet, startGossipNet, waitFor } from '../../relay/dev/gossip-net.ts';
import { getKeys } from '../keypool.ts';

const N = 30;
const T = 7101;
const SET = {
  pow_bits: '8',
  degree: '6',
  maintain_interval_ms: '200',
  pull_interval_ms: '1000',
  pex_interval_ms: '1000',
  dial_backoff_ms: '200',
};

let net: GossipNet;
const subs: (ApiClient | undefined)[] = [];
const heard: Set<string>[] = [];

async function attach(i: number): Promise<void> {
  const c = await ApiClient.connect(net.nodes[i]!.api, { timeoutMs: 5000 });
  heard[i] = new Set();
  c.onMessage((m) => {
    if (m.type !== 502) return;
    heard[i]!.add(new TextDecoder().decode(m.data));
    c.send({ type: 503, messageId: m.messageId, valid: true });
  });
  c.send({ type: 501, dataType: T });
  subs[i] = c;
  await waitFor(() => net.nodes[i]!.module!.subs.has(T), 3000, `relay ${i} subscribed`);
}

const live = () => net.nodes.filter((n) => n.module).map((n) => n.index);
const liveNeighbours = (i: number) => {
  const ids = new Set(live().map((j) => net.nodes[j]!.module!.membership.ownId));
  return [...net.nodes[i]!.module!.membership.neighbours.keys()].filter((id) => ids.has(id)).length;
};

let seq = 0;
/** Announce a fresh item at `at`; resolves with the fraction of the other live relays it reached. */
async function spread(at: number, timeoutMs = 2000): Promise<number> {
  const data = `item ${++seq}`;
  subs[at]!.send({ type: 500, ttl: 0, dataType: T, data: new TextEncoder().encode(data) });
  const others = live().filter((i) => i !== at);
  const count = () => others.filter((i) => heard[i]!.has(data)).length;
  await waitFor(() => count() === others.length, timeoutMs, data).catch(() => {});
  return count() / others.length;
}

beforeAll(async () => {
  net = await startGossipNet({ keys: await getKeys(N), set: SET });
  for (let i = 0; i < N; i++) await attach(i);
  await waitFor(() => live().every((i) => liveNeighbours(i) >= 3), 30_000, 'network formed');
});

afterAll(async () => {
  for (const c of subs) c?.close();
  await net?.stop();
});

describe('gossip under churn', () => {
  const stopped: number[] = [];

  it('recovers after 30% of the relays stop', async () => {
    expect(await spread(1)).toBe(1);
    // Relay 0 is the bootstrapper of all: it stays (give several bootstrappers in production).
    const pool = Array.from({ length: N - 1 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    stopped.push(...pool.slice(0, Math.round(0.3 * N)));
    const deadline = Date.now() + 30_000;
    for (const i of stopped) {
      subs[i]?.close();
      subs[i] = undefined;
    }
    await Promise.all(stopped.map((i) => net.nodes[i]!.stop()));
    await waitFor(
      () => live().every((i) => liveNeighbours(i) >= 3),
      deadline - Date.now(),
      'neighbours repaired',
    );
    const fractions: number[] = [];
    for (let k = 0; k < 10; k++) {
      const lives = live();
      fractions.push(await spread(lives[k % lives.length]!, Math.min(2000, deadline - Date.now())));
    }
    console.log(`after churn: coverage per item ${fractions.map((f) => f.toFixed(2)).join(' ')}`);
    for (const f of fractions) expect(f).toBeGreaterThanOrEqual(0.99);
  });

  it('a stopped relay that restarts rejoins and gets new items', async () => {
    const back = stopped[0]!;
    await net.nodes[back]!.start();
    await attach(back);
    await waitFor(() => liveNeighbours(back) >= 3, 20_000, `relay ${back} rejoined`);
    expect(await spread(0)).toBe(1);
  });
});
