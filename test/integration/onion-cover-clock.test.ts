// Issue 15 point 1: the destination of a cover tunnel answers on its own 20 ms clock, so a middle
// hop correlating the two directions of a cover circuit finds what it finds on a call: two
// independent clocks. The old immediate echo (cover_reply = echo) copied the forward stream's timing.
// All relays share one event loop here, and a stall of it delays both directions of every circuit
// alike, so a call's two directions are not quite uncorrelated either: cover is compared with a
// call-shaped circuit measured in the same network right after it.
import { afterEach, expect, it } from 'vitest';
import type { ApiClient } from '../../relay/api/client.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { maxXcorr, pace, type Trace, watchHop } from './onion-curious.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

let on: OnionNet | undefined;
afterEach(async () => {
  await on?.stop();
  on = undefined;
});

async function record(relay: number, ms: number, drive: () => () => void): Promise<Trace> {
  const stop = drive();
  // Warm up first: cold code (JIT, first GCs) adds jitter of its own to whatever is measured.
  await new Promise((r) => setTimeout(r, 2000));
  const hop = watchHop(on!.debug(relay));
  await new Promise((r) => setTimeout(r, ms));
  stop();
  hop.stop();
  const busy = [...hop.traces.values()].filter((t) => t.fwd.length > 100 && t.back.length > 100);
  expect(busy.length).toBe(1);
  const t = busy[0]!;
  // The same rate both ways (one answer per cell on average), whatever the timing.
  expect(Math.abs(t.back.length - t.fwd.length) / t.fwd.length).toBeLessThan(0.1);
  return t;
}

const relayAt = (p2p: string | undefined) => on!.net.relays.findIndex((r) => r.p2p.onion === p2p);

/** Max |xcorr| at the first hop of relay 0's cover circuit, then of a call-shaped tunnel 1 -> 4. */
async function correlations(reply: 'clock' | 'echo', ms = 5000): Promise<{ cover: number; call: number }> {
  // The echo is the comparison of what a hop sees without our defences: hop clocks (on by default)
  // re-time its forward stream at the first hop and hid the echo's copy of it in one CI run.
  const set = { 'onion.cover_reply': reply, ...(reply === 'echo' ? { 'onion.hop_clock': 'false' } : {}) };
  on = await startOnionNet(5, set, (i) =>
    i === 0 ? ({} as Record<string, string>) : { 'onion.cover_tunnel': 'false' },
  );
  const d0 = on.debug(0);
  await waitFor(() => d0.coverReady(), 15_000, 'the cover tunnel');
  const a = await on.client(0);
  const cover = await record(relayAt(d0.coverPath()[0]), ms, () =>
    pace(() => a.send({ type: MessageType.ONION_COVER, coverSize: 115 })),
  );
  // A call: both ends pace one DATA per 20 ms on their own clocks, as the client's audio does.
  const caller = await on.client(1);
  const callee: ApiClient = await on.client(4);
  const inc = callee.next(MessageType.ONION_TUNNEL_INCOMING);
  const ready = await caller.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 10_000);
  const inId = (await inc).tunnelId;
  const frame = new Uint8Array(115);
  const call = await record(relayAt(on.debug(1).tunnelPath(ready.tunnelId)[0]), ms, () => {
    const s1 = pace(() =>
      caller.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: frame }),
    );
    const s2 = pace(() => callee.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: inId, data: frame }));
    return () => {
      s1();
      s2();
    };
  });
  return { cover: maxXcorr(cover), call: maxXcorr(call) };
}

it('cover answered on its own clock: its two directions are as independent as a call', async () => {
  const c = await correlations('clock');
  console.log(`cover_reply=clock: max |xcorr| cover ${c.cover.toFixed(3)}, call ${c.call.toFixed(3)}`);
  expect(c.cover).toBeLessThan(c.call + 0.2);
  expect(c.cover).toBeLessThan(0.6);
});

it('the old immediate echo is what a middle hop sees through (comparison)', async () => {
  const c = await correlations('echo');
  console.log(`cover_reply=echo: max |xcorr| cover ${c.cover.toFixed(3)}, call ${c.call.toFixed(3)}`);
  expect(c.cover).toBeGreaterThan(c.call + 0.3);
});
