// Issue 15: a relay's cover stream keeps one wire clock from round to round, as a call's tunnel keeps
// its own (relay/onion/service.ts `coverWire`). Each round's cover tunnel used to start a clock of its
// own: a new phase at the first cell, settled towards the client's arrivals over the round's first
// second. A first hop saw the forward stream of every cover circuit move within its first second
// and jump at the boundary, while a call's stayed put (the curious hop's forward-to-backward delay
// spread: 4.0 ms for cover against 2.4 ms for calls).
//
// Here a client sends COVER with browser-like timer jitter for 6 rounds of 2 s, and the cells its
// relay writes to its links are timed. With one clock their phase on the 20 ms grid holds across
// the boundaries; with a clock per round it moved (the code before: at most 6.3-7.1 ms between halves, three runs).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { linkTap } from '../../relay/onion/debug.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { paceLikeClient } from './onion-curious.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

const ROUND = 2000;
const SLOT = 20;
let on: OnionNet;
beforeAll(async () => {
  on = await startOnionNet(4, { 'onion.round_seconds': String(ROUND / 1000), 'onion.wire_clock': 'relay' });
  await waitFor(() => on.debug(0).coverReady(), 15_000, 'cover of relay 0');
});
afterAll(async () => {
  linkTap.fn = undefined;
  await on?.stop();
});

const now = () => performance.timeOrigin + performance.now();
const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - now())));

/** Where on the 20 ms grid most of these times fall (circular mean, ms in [0, 20)). */
function phase(ts: number[]): number {
  let x = 0;
  let y = 0;
  for (const t of ts) {
    const a = ((t % SLOT) / SLOT) * 2 * Math.PI;
    x += Math.cos(a);
    y += Math.sin(a);
  }
  return ((((Math.atan2(y, x) / (2 * Math.PI)) * SLOT) % SLOT) + SLOT) % SLOT;
}

/** Distance of two phases on the 20 ms circle. */
const apart = (a: number, b: number) => Math.min(Math.abs(a - b), SLOT - Math.abs(a - b));

it('keeps the cover stream on one slot clock across round boundaries', { timeout: 40_000 }, async () => {
  const c = await on.client(0);
  const me = on.net.relays[0]!.identity;
  const out: number[] = [];
  linkTap.fn = (id, _link, dir, bytes) => {
    if (dir !== 'out' || Buffer.from(id).toString('hex') !== me) return;
    for (let n = 0; n < bytes / 240; n++) out.push(now());
  };
  const stop = paceLikeClient(() => c.send({ type: MessageType.ONION_COVER, coverSize: 115 }), 2);
  // Two rounds to start, then six judged: their boundaries fall on multiples of ROUND.
  const first = (Math.floor(now() / ROUND) + 2) * ROUND;
  await sleepUntil(first + 6 * ROUND);
  stop();
  linkTap.fn = undefined;
  const phases: number[] = [];
  for (let r = 0; r < 6; r++) {
    const b = first + r * ROUND;
    // The round's first and last 600 ms, away from the boundary's own build and PADDING cells.
    const early = out.filter((t) => t >= b + 100 && t < b + 700);
    const late = out.filter((t) => t >= b + ROUND - 700 && t < b + ROUND - 100);
    expect(early.length).toBeGreaterThan(20);
    phases.push(phase(early), phase(late));
  }
  const moves = phases.slice(1).map((p, i) => apart(p, phases[i]!));
  console.log(`cover cells' phase per half round (ms): ${phases.map((p) => p.toFixed(1)).join(' ')}`);
  // One clock: it moves only by its 1 ms steps when a cell is late. A clock per round: its start
  // and settling moved it by up to half a slot.
  expect(Math.max(...moves)).toBeLessThan(3);
});
