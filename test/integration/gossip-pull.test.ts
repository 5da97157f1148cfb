// Small network: TTL limits hops; a relay that joins late pulls the recent items it missed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { type GossipNet, startGossipNet, waitFor } from '../../relay/dev/gossip-net.ts';
import { getKeys } from '../keypool.ts';

const N = 8;
const T = 7301;
let net: GossipNet;
const subs: ApiClient[] = [];
const heard: Set<string>[] = [];

async function attach(i: number): Promise<void> {
  subs[i]?.close();
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

const announce = (at: number, data: string, ttl = 0) =>
  subs[at]!.send({ type: 500, ttl, dataType: T, data: new TextEncoder().encode(data) });
const reachedAll = (data: string, except: number) =>
  net.running().every((n) => n.index === except || heard[n.index]!.has(data));

beforeAll(async () => {
  net = await startGossipNet({
    keys: await getKeys(N),
    set: {
      pow_bits: '8',
      degree: '3',
      maintain_interval_ms: '200',
      pull_interval_ms: '300',
      dial_backoff_ms: '200',
    },
  });
  for (let i = 0; i < N; i++) await attach(i);
  await waitFor(() => net.nodes.every((n) => n.module!.membership.neighbours.size >= 2), 20_000, 'formed');
});

afterAll(async () => {
  for (const c of subs) c.close();
  await net?.stop();
});

describe('gossip TTL and pull', () => {
  it('charges at most degree/2 dialled neighbours to any one source (eclipse defence)', () => {
    for (const n of net.running()) {
      for (const count of n.module!.membership.sourceCounts().values()) expect(count).toBeLessThanOrEqual(2);
    }
  });

  it('an item announced with TTL 1 reaches only the direct neighbours', async () => {
    const at = 2;
    const near = new Set(net.nodes[at]!.module!.membership.neighbours.keys());
    announce(at, 'one hop', 1);
    announce(at, 'marker ttl');
    await waitFor(() => reachedAll('marker ttl', at), 5000, 'marker everywhere');
    const saw = net.nodes.filter((n) => heard[n.index]!.has('one hop'));
    expect(saw.length).toBeGreaterThan(0);
    // A relay that became a neighbour between the snapshot and the push is a direct neighbour too
    // (every neighbour gets the item, eagerly or through IHAVE/IWANT).
    for (const id of net.nodes[at]!.module!.membership.neighbours.keys()) near.add(id);
    for (const n of saw) expect(near.has(n.module!.membership.ownId)).toBe(true);
  });

  it('a relay that joins late pulls the items it missed', async () => {
    const late = N - 1;
    await net.nodes[late]!.stop();
    announce(0, 'while away 1');
    announce(3, 'while away 2');
    await waitFor(() => reachedAll('while away 1', 0) && reachedAll('while away 2', 3), 5000, 'spread');
    await net.nodes[late]!.start();
    await attach(late);
    await waitFor(
      () => heard[late]!.has('while away 1') && heard[late]!.has('while away 2'),
      10_000,
      'late relay pulled both items',
    );
  });
});
