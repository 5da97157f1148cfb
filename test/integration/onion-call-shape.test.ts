// Issue 15 point 2 (relay part): a call is born where cover would have been. With build_in_slot, a
// BUILD that arrives while the cover tunnel runs waits for the round's one random build slot and
// takes it instead of the cover build, and READY comes at the boundary (when a new cover circuit
// would take over). So relay 0 builds exactly one circuit per round, inside the build window,
// whether idle, while a call starts, runs or ends.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MessageType } from '../../shared/wire/types.ts';
import { paceLikeClient } from './onion-curious.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

const ROUND = 4000;
const SLOT = process.env.ONION_OLD_BUILD ? 'false' : 'true'; // the old way, to compare
const LEAD = 2000; // min(round/2, 2 × (build_timeout + 1 s)): builds fall in [b - 2 s, b - 1 s] + build time
let on: OnionNet;
beforeAll(async () => {
  on = await startOnionNet(
    5,
    { 'onion.round_seconds': String(ROUND / 1000), 'onion.build_timeout_ms': '1000' },
    (i): Record<string, string> =>
      i === 0
        ? { 'onion.build_in_slot': SLOT }
        : { 'onion.cover_tunnel': 'false', 'onion.build_in_slot': SLOT },
  );
});
afterAll(async () => {
  await on?.stop();
});

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
const boundaryAfter = (t: number) => (Math.floor(t / ROUND) + 1) * ROUND;

it('builds one circuit per round in the build slot: idle, call start, call, call end', {
  timeout: 90_000,
}, async () => {
  const d0 = on.debug(0);
  await waitFor(() => d0.coverReady(), 15_000, 'the cover tunnel');
  // Record when relay 0 finishes each circuit build.
  const builds: number[] = [];
  let seen = d0.stats.circuitsBuilt;
  const poll = setInterval(() => {
    for (; seen < d0.stats.circuitsBuilt; seen++) builds.push(Date.now());
  }, 5);
  const start = boundaryAfter(Date.now());
  await sleepUntil(start + 2 * ROUND + 300); // two idle rounds
  const a = await on.client(0);
  const d = await on.client(4);
  const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
  const ready = await a.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 3 * ROUND);
  const readyAt = Date.now();
  const inId = (await inc).tunnelId;
  await sleepUntil(boundaryAfter(Date.now()) + ROUND + 500); // a round in the call
  // The call works: data both ways.
  const got = d.next(MessageType.ONION_TUNNEL_DATA);
  a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array([1]) });
  expect((await got).tunnelId).toBe(inId);
  a.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: ready.tunnelId });
  // After the hang-up the client sends cover again; until the boundary it still goes out (on the
  // call's circuit), not into a hole where the retired cover circuit was.
  const stopCover = paceLikeClient(() => a.send({ type: MessageType.ONION_COVER, coverSize: 115 }));
  const hangup = boundaryAfter(Date.now());
  const sentAtHangup = d0.stats.coverSentBytes;
  await sleepUntil(hangup - 50);
  const sentBeforeBoundary = d0.stats.coverSentBytes - sentAtHangup;
  const end = hangup + 2 * ROUND; // the round it ended in and one more
  await sleepUntil(end + 100);
  stopCover();
  clearInterval(poll);
  console.log(`cover bytes sent between hang-up and the boundary: ${sentBeforeBoundary}`);
  expect(sentBeforeBoundary).toBeGreaterThan(0);

  const perRound: number[] = [];
  for (let b = start; b < end; b += ROUND)
    perRound.push(builds.filter((t) => t >= b && t < b + ROUND).length);
  console.log(`builds per round: ${perRound.join(' ')}; READY ${readyAt % ROUND} ms after a boundary`);
  expect(perRound.every((n) => n === 1)).toBe(true);
  // Every build ends inside its round's build window, never at the moment a BUILD came in.
  for (const t of builds.filter((t) => t >= start && t < end))
    expect(boundaryAfter(t) - t).toBeLessThanOrEqual(LEAD);
  // READY came at a boundary after the call's circuit was built, not when it was built.
  const callBuild = builds.filter((t) => t < readyAt).at(-1)!;
  expect(boundaryAfter(callBuild)).toBeLessThanOrEqual(readyAt);
});

it('a call that ends just after the build slot opened still leaves cover and one build per round', {
  timeout: 90_000,
}, async () => {
  // The slot opens `LEAD` before the boundary and its builds start at a random moment of the next
  // LEAD / 2. Hanging up inside that gap (both ends, as clients do) used to leave the round without
  // a cover build: the slot had been given to the call's tunnel, whose RESUME the destination then
  // refused, and the lingering call circuit carrying cover was closed with it; and the callee's
  // relay ended the call's circuit (END, destroyed 1 s later), so its cover went unanswered.
  const d0 = on.debug(0);
  await waitFor(() => d0.coverReady(), 15_000, 'the cover tunnel');
  const a = await on.client(0);
  const d = await on.client(4);
  const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
  const ready = await a.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 3 * ROUND);
  const inId = (await inc).tunnelId;
  const b = boundaryAfter(Date.now() + ROUND);
  await sleepUntil(b - LEAD + 15);
  const builtBefore = d0.stats.circuitsBuilt;
  a.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: ready.tunnelId });
  d.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: inId });
  const cover = paceLikeClient(() => a.send({ type: MessageType.ONION_COVER, coverSize: 115 }));
  const sent0 = d0.stats.coverSentBytes;
  const echoed0 = d0.stats.coverEchoedBytes;
  await sleepUntil(b - 50);
  const sentBeforeBoundary = d0.stats.coverSentBytes - sent0;
  // ...and answered: the callee's relay, whose client let the tunnel go, answers the cover the
  // call's circuit now carries, as any cover destination does (it used to END and destroy it).
  const echoedBeforeBoundary = d0.stats.coverEchoedBytes - echoed0;
  const builtInSlot = d0.stats.circuitsBuilt - builtBefore;
  await sleepUntil(b + ROUND / 2);
  const sentAfter = d0.stats.coverSentBytes - sent0 - sentBeforeBoundary;
  cover();
  console.log(
    `hang-up in the slot's gap: ${builtInSlot} build(s) before the boundary; cover bytes ${sentBeforeBoundary} sent and ${echoedBeforeBoundary} answered before it, ${sentAfter} sent in the next half round`,
  );
  expect(builtInSlot).toBe(1);
  expect(sentBeforeBoundary).toBeGreaterThan(0);
  expect(echoedBeforeBoundary).toBeGreaterThan(sentBeforeBoundary / 2);
  expect(sentAfter).toBeGreaterThan(0);
  expect(d0.coverReady()).toBe(true);
});
