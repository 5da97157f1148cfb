// The cover clock: answers on its own 20 ms slots, never more than 3 at once, holds at most 8 echoes
// (the oldest go), and stops once the initiator has been quiet (nothing queued, 200 ms without COVER).
import { expect, it, vi } from 'vitest';
import { COVER_QUEUE_MAX, COVER_RETIRE_MS, CoverClock } from '../../relay/onion/coverclock.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string): Promise<void> {
  for (const t0 = Date.now(); !cond(); await sleep(5)) if (Date.now() - t0 > 5000) throw new Error(what);
}

it('sends queued echoes on its own clock, bounded, and stops when the initiator stops', async () => {
  const sent: { at: number; first: number; size: number }[] = [];
  const clock = new CoverClock((d) => sent.push({ at: performance.now(), first: d[0]!, size: d.length }));
  // A burst of 20 COVERs at once (a flood, or a stalled sender catching up): only 8 wait.
  for (let i = 0; i < 20; i++) clock.onCover(new Uint8Array(115).fill(i));
  await until(() => sent.length >= 9, 'the echoes');
  // The newest 8, in order, then fresh random bytes while COVER is recent (200 ms), then nothing.
  expect(sent.slice(0, 8).map((s) => s.first)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
  expect(sent.length).toBeGreaterThan(8);
  expect(COVER_QUEUE_MAX).toBe(8);
  expect(sent.every((s) => s.size === 115)).toBe(true);
  // Never a burst of more than 3 within one tick.
  for (let i = 3; i < sent.length; i++) expect(sent[i]!.at - sent[i - 3]!.at).toBeGreaterThan(1);
  // Quiet for 200 ms with nothing queued: the clock stops.
  let n = sent.length;
  for (;;) {
    await sleep(300);
    if (sent.length === n) break;
    n = sent.length;
  }
  // COVER again: it answers again (fresh phase), with fresh random bytes once the echo is out.
  clock.onCover(new Uint8Array(60).fill(99));
  await until(() => sent.length - n >= 2, 'the answer');
  expect(sent.slice(n)[0]?.first).toBe(99);
  expect(sent.slice(n).every((s) => s.size === 60)).toBe(true);
  clock.stop();
  const m = sent.length;
  await sleep(100);
  expect(sent.length).toBe(m);
});

it('pays back the slots a stall skipped: as many cells back as slots went by', async () => {
  let sent = 0;
  const clock = new CoverClock(() => sent++);
  const feed = setInterval(() => clock.onCover(new Uint8Array(100)), 20);
  clock.onCover(new Uint8Array(100));
  await sleep(200);
  const [t0, n0] = [performance.now(), sent];
  const busy = performance.now() + 300; // the relay's event loop stalls for 300 ms (15 slots)
  while (performance.now() < busy) {}
  await sleep(900);
  const slots = (performance.now() - t0) / 20;
  clearInterval(feed);
  clock.stop();
  // Old code: 3 of the 15 stalled slots sent, the other 12 never (~20 % short over this second).
  expect(sent - n0).toBeGreaterThanOrEqual(Math.floor(slots) - 3);
  expect(sent - n0).toBeLessThanOrEqual(Math.ceil(slots) + 1);
});

it('stops answering at the round boundary (retire), and answers a cover that carries on after the mute', async () => {
  let sent = 0;
  const clock = new CoverClock(() => sent++);
  clock.onCover(new Uint8Array(50));
  await until(() => sent >= 3, 'the answer');
  for (let i = 0; i < 4; i++) clock.onCover(new Uint8Array(50)); // queued before the boundary
  clock.retire(); // the boundary: the initiator's cover moved to its next circuit
  clock.begin(); // the boundary begins only a circuit that has not answered yet
  const atRetire = sent;
  clock.onCover(new Uint8Array(50)); // still in flight: not answered
  await sleep(COVER_RETIRE_MS - 50);
  // A callee's stream stops on the old circuit at the boundary, its queued cells going on the new
  // one: nothing more here. Old code: the queued echoes were drained past the boundary (and before
  // that, answered on for the 200 ms quiet time, ~10 more cells).
  expect(sent - atRetire).toBe(0);
  await sleep(100);
  clock.onCover(new Uint8Array(50)); // this circuit carries on (no successor): answered again
  await until(() => sent > atRetire, 'the answer after the mute');
  clock.stop();
});

it("a clock that has not answered yet (the next round's circuit) is not muted by the boundary", async () => {
  let sent = 0;
  const clock = new CoverClock(() => sent++);
  clock.retire();
  clock.onCover(new Uint8Array(50));
  await until(() => sent >= 1, 'the answer');
  clock.stop();
});

/** Run `fn` with fake timers, performance and Date (the cover clock's grid is the wall clock's). */
function fakeTime<T>(fn: () => T): T {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  try {
    return fn();
  } finally {
    vi.useRealTimers();
  }
}

it("answers on the wall clock's 20 ms grid at the phase the initiator chose, round after round", () => {
  fakeTime(() => {
    // Two rounds' circuits of one cover stream, their first COVERs at different moments of a slot:
    // each answer falls ~7.5 ms (phase 96 of 256) into a 20 ms slot of the wall clock, as a callee's
    // clock keeps one phase through every round of a call.
    const at = [0, 100 * 20 + 3.3].map((advance) => {
      vi.advanceTimersByTime(advance);
      const sent: number[] = [];
      const clock = new CoverClock(() => sent.push(Date.now()), 96);
      clock.onCover(new Uint8Array(50));
      vi.advanceTimersByTime(100);
      clock.stop();
      return sent.map((t) => t % 20);
    });
    for (const o of at.flat()) expect(Math.abs(o - (96 * 20) / 256)).toBeLessThanOrEqual(1.2);
  });
});

it("begins answering at the boundary on a round's new circuit, before its first COVER has come", () => {
  fakeTime(() => {
    // A callee's clock moves its stream to the new circuit at the boundary; a cover answer that
    // waited for the first COVER to come all the way began ~25 ms later at a hop (41 ms after the
    // boundary against a call's 16 ms, a curious hop's dump). Old code: nothing before the COVER.
    vi.setSystemTime(2_000_000);
    const sent: number[] = [];
    const clock = new CoverClock(() => sent.push(Date.now() - 2_000_000), 128);
    clock.retire();
    clock.begin();
    vi.advanceTimersByTime(60);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent[0]).toBeGreaterThan(0);
    expect(sent[0]).toBeLessThanOrEqual(11); // the first slot at phase 128 of 256: 10 ms in
    // Never fed, it stops after the quiet time, as a callee's does when the caller is gone.
    vi.advanceTimersByTime(400);
    const n = sent.length;
    vi.advanceTimersByTime(400);
    expect(sent.length).toBe(n);
    expect(n).toBeLessThanOrEqual(12);
    clock.stop();
  });
});
