// Issue 15, hop_clock (relay/onion/hop.ts): a middle hop forwards each circuit's cells on a slot
// clock of their own, one per 20 ms slot each way, as an endpoint sends its client's cells. Here the
// endpoints pass their clients' bursts straight on (wire_clock = client: 3 cells at once every
// 60 ms), so whatever spacing the middle hops' links show is theirs. Without hop_clock the bursts
// cross the hops as they came (a median gap of 0); with it, a slot. Cells arrive whole and in order
// both ways (the backward layer is a stream cipher: a reordered cell would fail its MAC).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { linkTap } from '../../relay/onion/debug.ts';
import { median, type OnionNet, openTunnel, sendBursts, startOnionNet } from './onion-support.ts';

const HOP_CLOCK = process.env.ONION_HOP_CLOCK ?? 'true';
let on: OnionNet;
beforeAll(async () => {
  on = await startOnionNet(4, {
    'onion.cover_tunnel': 'false', // only the tunnel's cells on the links
    'onion.wire_clock': 'client',
    'onion.hop_clock': HOP_CLOCK,
  });
});
afterAll(async () => {
  linkTap.fn = undefined;
  await on?.stop();
});

it('middle hops forward a bursty stream one cell per slot each way, none lost or reordered', {
  timeout: 30_000,
}, async () => {
  const { a, b, outId, inId } = await openTunnel(on, 0, 3);
  // Every cell the two middle relays (1 and 2: with 4 relays and 2 hops, every path) write.
  const ids = [1, 2].map((i) => on.net.relays[i]!.identity);
  const out = new Map<string, number[]>();
  linkTap.fn = (id, link, dir, bytes) => {
    const k = ids.indexOf(Buffer.from(id).toString('hex'));
    if (k < 0 || dir !== 'out') return;
    const key = `${k}:${link}`;
    const ts = out.get(key) ?? [];
    for (let n = 0; n < bytes / 240; n++) ts.push(performance.now());
    out.set(key, ts);
  };
  const { got, all } = await sendBursts(a, outId, b, inId);
  for (const g of got) await expect.poll(() => g.length, { timeout: 5000 }).toBe(all.length);
  expect(got).toEqual([all, all]);
  linkTap.fn = undefined;
  // Each middle relay writes the forward stream to one link and the backward one to another.
  const streams = [...out.entries()].filter(([, ts]) => ts.length >= all.length);
  expect(streams.length).toBe(4);
  for (const [key, ts] of streams) {
    const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
    console.log(
      `hop_clock=${HOP_CLOCK} relay/link ${key}: ${ts.length} cells, median gap ${median(gaps).toFixed(1)} ms`,
    );
    expect(median(gaps)).toBeGreaterThan(10);
  }
});
