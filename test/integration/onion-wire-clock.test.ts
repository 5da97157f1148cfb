// Issue 15, "signalling paced like media" and one owner of the wire's timing: the cells a client
// hands its relay leave on the relay's own 20 ms slot clock (relay/onion/wireclock.ts), at both
// ends of a tunnel, whatever the client's timing. Here both clients send in bursts (3 one-cell
// messages at once every 60 ms: the average rate of a call, the timing of a signalling burst or of
// a stalled page). Before the wire clock the bursts went out as they came (a median gap of 0 between
// cells on the first link); now one cell a slot. ONION_WIRE_CLOCK=client runs the old way (fails).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { linkTap } from '../../relay/onion/debug.ts';
import { median, type OnionNet, openTunnel, sendBursts, startOnionNet } from './onion-support.ts';

let on: OnionNet;
beforeAll(async () => {
  on = await startOnionNet(4, {
    'onion.cover_tunnel': 'false', // only the tunnel's cells on the links
    'onion.wire_clock': process.env.ONION_WIRE_CLOCK ?? 'relay',
  });
});
afterAll(async () => {
  linkTap.fn = undefined;
  await on?.stop();
});

it("sends a bursty client's cells one per slot, at both ends, none lost or reordered", {
  timeout: 30_000,
}, async () => {
  const { a, b, outId, inId } = await openTunnel(on, 0, 3);
  // Every cell relay 0 and relay 3 write to their links, with its time.
  const ids = [0, 3].map((i) => on.net.relays[i]!.identity);
  const cells: number[][] = [[], []];
  linkTap.fn = (id, _link, dir, bytes) => {
    const k = ids.indexOf(Buffer.from(id).toString('hex'));
    if (k < 0 || dir !== 'out') return;
    for (let n = 0; n < bytes / 240; n++) cells[k]!.push(performance.now());
  };
  const { got, all } = await sendBursts(a, outId, b, inId);
  for (const g of got) await expect.poll(() => g.length, { timeout: 5000 }).toBe(all.length);
  expect(got).toEqual([all, all]);
  linkTap.fn = undefined;
  for (const [k, ts] of cells.entries()) {
    const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
    console.log(
      `relay ${k ? 3 : 0}: ${ts.length} cells out, median gap ${median(gaps).toFixed(1)} ms ` +
        `(the client sent 3 at once every 60 ms)`,
    );
    expect(ts.length).toBeGreaterThanOrEqual(all.length);
    // Old: most gaps 0 (the burst's cells leave together). Now: most are a slot.
    expect(median(gaps)).toBeGreaterThan(10);
  }
});
