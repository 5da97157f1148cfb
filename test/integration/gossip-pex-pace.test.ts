// Issue 18: in a network smaller than degree + 1, every relay stays short of `degree` neighbours.
// Each PEERS answer used to queue maintain(), which asked again at once, so PEERS_REQUEST/PEERS
// bounced at loopback speed for ever (~10 % of a core per idle relay). The exchange is paced by
// pex_interval_ms (and backs off when it learns nothing): count the requests of an idle network.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GossipNet, startGossipNet, waitFor } from '../../relay/dev/gossip-net.ts';
import { gossipStats } from '../../relay/gossip/stats.ts';
import { getKeys } from '../keypool.ts';

const N = 4;
const PEX_MS = 1000;
let net: GossipNet;

beforeAll(async () => {
  const keys = await getKeys(N);
  net = await startGossipNet({
    keys,
    // degree 8 (the default) > N - 1: every relay is short of neighbours for ever.
    set: {
      pow_bits: '8',
      maintain_interval_ms: '200',
      pex_interval_ms: String(PEX_MS),
      dial_backoff_ms: '200',
    },
  });
  await waitFor(
    () => net.nodes.every((n) => n.module!.membership.neighbours.size === N - 1),
    20_000,
    'a full mesh',
  );
});

afterAll(async () => {
  await net?.stop();
});

describe('gossip peer exchange pacing', () => {
  it('an idle network of 4 relays (degree 8) sends at most one PEERS_REQUEST per relay per pex interval', async () => {
    const windowMs = 3000;
    const before = gossipStats.peersRequestsSent;
    await new Promise((r) => setTimeout(r, windowMs));
    const sent = gossipStats.peersRequestsSent - before;
    // One per relay per interval, plus one in flight at the start of the window.
    expect(sent).toBeLessThanOrEqual(N * (windowMs / PEX_MS + 1));
    expect(net.nodes.every((n) => n.module!.membership.neighbours.size === N - 1)).toBe(true);
  });
});
