// Issue 15, "signalling paced like media" and one owner of the wire's timing: the cells a client
// hands its relay leave on the relay's own 20 ms slot clock (relay/onion/wireclock.ts), at both
// ends of a tunnel, whatever the client's timing. Here both clients send in bursts (3 one-cell
// messages at once every 60 ms: the average rate of a call, the timing of a signalling burst or of
// a stalled page). Before the wire clock the bursts went out as they came (a median gap of 0 between
// cells on the first link); now one cell a slot. ONION_WIRE_CLOCK=client runs the old way (fails).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { linkTap } from '../../relay/onion/debug.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { type OnionNet, startOnionNet } from './onion-support.ts';

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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

it("sends a bursty client's cells one per slot, at both ends, none lost or reordered", {
  timeout: 30_000,
}, async () => {
  const a = await on.client(0);
  const b = await on.client(3);
  const inc = b.next(MessageType.ONION_TUNNEL_INCOMING);
  const ready = await a.request(on.buildTo(3), MessageType.ONION_TUNNEL_READY, 10_000);
  const inId = (await inc).tunnelId;
  // Every cell relay 0 and relay 3 write to their links, with its time.
  const ids = [0, 3].map((i) => on.net.relays[i]!.identity);
  const cells: number[][] = [[], []];
  linkTap.fn = (id, _link, dir, bytes) => {
    const k = ids.indexOf(Buffer.from(id).toString('hex'));
    if (k < 0 || dir !== 'out') return;
    for (let n = 0; n < bytes / 240; n++) cells[k]!.push(performance.now());
  };
  const got: number[][] = [[], []];
  for (const [k, c] of [a, b].entries())
    c.onMessage((m) => {
      if (m.type === MessageType.ONION_TUNNEL_DATA) got[k]!.push(m.data[0]!);
    });
  const BURSTS = 25;
  for (let k = 0; k < BURSTS; k++) {
    for (let j = 0; j < 3; j++) {
      const data = new Uint8Array(100).fill(k * 3 + j);
      a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data });
      b.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: inId, data });
    }
    await new Promise((r) => setTimeout(r, 60));
  }
  const all = Array.from({ length: BURSTS * 3 }, (_, i) => i);
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
