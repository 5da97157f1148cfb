// The wire clock (relay/onion/wireclock.ts): the client's cells leave on the relay's own 20 ms slots,
// phase-locked a few ms after the client's arrivals, so the wire shows our even clock rather than
// the client's timer, a burst leaves one cell per slot, and nothing is lost or reordered. Fake
// timers: the clock's arithmetic is judged, not this box's scheduler.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { SLOT_MS } from '../../relay/onion/slottimer.ts';
import { WIRE_QUEUE_MAX, WireClock } from '../../relay/onion/wireclock.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A small deterministic PRNG (the client's timer jitter). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

/** Feed `n` cells at `at(i)` ms; returns [arrival, departure] of each, in departure order. */
function run(clock: WireClock, arrivals: number[]): { id: number; in: number; out: number }[] {
  const out: { id: number; in: number; out: number }[] = [];
  const t0 = performance.now();
  for (const [id, at] of arrivals.entries()) {
    vi.advanceTimersByTime(Math.max(0, t0 + at - performance.now()));
    clock.push(() => out.push({ id, in: t0 + at, out: performance.now() }));
  }
  vi.advanceTimersByTime(1000);
  return out;
}

const gaps = (xs: number[]) => xs.slice(1).map((x, i) => x - xs[i]!);
const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);

it("puts a jittery client's cells on an even clock, a few ms behind them, none lost or reordered", () => {
  const r = prng(7);
  // The client's timer: every 20 ms, each firing 0-6 ms late (a browser's setInterval on a busy page).
  const arrivals = Array.from({ length: 500 }, (_, i) => i * SLOT_MS + r() * 6);
  const stats = { wireCellsDropped: 0, wireCellsSent: 0, wireWaitMs: 0 };
  const out = run(new WireClock(stats), arrivals);
  expect(out.map((o) => o.id)).toEqual(arrivals.map((_, i) => i));
  // What the relay counts (its status line's mean wait) is what the cells waited.
  expect(stats.wireCellsSent).toBe(500);
  const allWaits = out.map((o) => o.out - o.in);
  expect(stats.wireWaitMs / 500).toBeCloseTo(allWaits.reduce((a, b) => a + b, 0) / 500, 3);
  const settled = out.slice(100);
  // The client's gaps spread over ~12 ms; on the wire, slots of ours (the phase moves 0.1 ms a slot
  // at most). Timers, fake ones as Node's, fire on whole milliseconds: up to 2 ms either way.
  expect(spread(gaps(arrivals.slice(100)))).toBeGreaterThan(10);
  for (const g of gaps(settled.map((o) => o.out))) expect(Math.abs(g - SLOT_MS)).toBeLessThanOrEqual(2);
  // The price: how long a cell waits for its slot.
  const waits = settled.map((o) => o.out - o.in);
  expect(Math.max(...waits)).toBeLessThan(SLOT_MS / 2);
  expect(waits.reduce((a, b) => a + b, 0) / waits.length).toBeLessThan(6);
});

it('spreads a burst one cell per slot, and drains a backlog faster than one a slot', () => {
  // A message of 3 cells at once (signalling), then paced cells: the 3 leave a slot apart.
  const burst = run(new WireClock(), [0, 0, 0, 40, 60, 80]);
  const g = gaps(burst.map((o) => o.out));
  for (const x of g.slice(0, 2)) expect(x).toBeGreaterThanOrEqual(SLOT_MS - 1);
  // 40 cells at once (a stall of the client's page): out within 40 slots, the backlog beyond 2
  // drained a quarter a slot (1 + 10 in the first).
  const flood = run(new WireClock(), Array(40).fill(0));
  expect(flood).toHaveLength(40);
  const span = flood.at(-1)!.out - flood[0]!.out;
  expect(span).toBeLessThan(40 * SLOT_MS);
  const perSlot = new Map<number, number>();
  for (const o of flood) perSlot.set(Math.round(o.out), (perSlot.get(Math.round(o.out)) ?? 0) + 1);
  expect(Math.max(...perSlot.values())).toBeLessThanOrEqual(11);
});

it('holds at most WIRE_QUEUE_MAX cells and counts what it drops; stops when the client stops', () => {
  const stats = { wireCellsDropped: 0, wireCellsSent: 0, wireWaitMs: 0 };
  const clock = new WireClock(stats);
  let sent = 0;
  for (let i = 0; i < WIRE_QUEUE_MAX + 10; i++) clock.push(() => sent++);
  const dropped = stats.wireCellsDropped;
  expect(dropped).toBeGreaterThanOrEqual(9);
  vi.advanceTimersByTime(60_000);
  expect(sent + dropped).toBe(WIRE_QUEUE_MAX + 10);
  expect(stats.wireCellsSent).toBe(sent);
  // Quiet: the clock's timer is gone (nothing keeps firing).
  expect(vi.getTimerCount()).toBe(0);
  clock.push(() => sent++);
  vi.advanceTimersByTime(100);
  expect(sent + dropped).toBe(WIRE_QUEUE_MAX + 11);
  expect(stats.wireCellsSent).toBe(sent);
  clock.stop();
});

it("shares one budget between a relay's clocks: many tunnels cannot add up past it", () => {
  const budget = { used: 0, max: 100 };
  const stats = { wireCellsDropped: 0, wireCellsSent: 0, wireWaitMs: 0 };
  const clocks = Array.from({ length: 5 }, () => new WireClock(stats, budget));
  for (const c of clocks) for (let i = 0; i < 50; i++) c.push(() => {});
  expect(budget.used).toBe(100);
  expect(stats.wireCellsDropped).toBe(150);
  vi.advanceTimersByTime(60_000);
  expect(budget.used).toBe(0);
  clocks[0]!.push(() => {});
  clocks[0]!.stop(); // what a stopped clock held is given back
  expect(budget.used).toBe(0);
});

it('pays back the slots a stalled client missed: after a burst the waits are short again', () => {
  // A client every 20 ms, stalling 60 ms once (3 slots) and then sending the 3 it owed at once, as
  // the client's pacer does (at most 3 at once), then on time again.
  const arrivals: number[] = [];
  for (let i = 0; i < 100; i++) arrivals.push(i * SLOT_MS + 2);
  arrivals.push(...Array(3).fill(103 * SLOT_MS + 2)); // slots 100-102, all at once in slot 103
  for (let i = 104; i < 150; i++) arrivals.push(i * SLOT_MS + 2);
  const out = run(
    new WireClock(),
    arrivals.sort((a, b) => a - b),
  );
  expect(out).toHaveLength(arrivals.length);
  // Old code: 2 cells kept waiting for the rest of the call (every wait ~40 ms more).
  const tail = out.slice(-30).map((o) => o.out - o.in);
  expect(Math.max(...tail)).toBeLessThan(SLOT_MS / 2);
});

it('keeps up with a client whose clock runs fast: no backlog builds up', () => {
  // The client's audio clock 200 ppm fast (a cell every 19.996 ms), for 40 s; and one burst of 2
  // it never pays back. Old code: 2-3 cells kept waiting for good (mean wait 50 ms).
  const arrivals = Array.from({ length: 2000 }, (_, i) => i * 19.996 + 2);
  arrivals.push(500 * 19.996 + 2);
  const out = run(
    new WireClock(),
    arrivals.sort((a, b) => a - b),
  );
  expect(out).toHaveLength(arrivals.length);
  const tail = out.slice(-200).map((o) => o.out - o.in);
  expect(tail.reduce((a, b) => a + b, 0) / tail.length).toBeLessThan(8);
});

it("does not ratchet its phase later when a busy client's cells come late now and then", () => {
  // 1 cell in 20 arrives 8 ms late (the client's page busy), for 60 s. The phase moves until those
  // too come before their slot (they are the client's jitter: ~8 ms of wait for every cell then),
  // and no further: 1 ms for every late one would have reached a whole slot of wait.
  const r = prng(11);
  const arrivals = Array.from({ length: 3000 }, (_, i) => i * SLOT_MS + 2 + (r() < 0.05 ? 8 : r()));
  const out = run(new WireClock(), arrivals);
  const tail = out.slice(-500).map((o) => o.out - o.in);
  expect(tail.reduce((a, b) => a + b, 0) / tail.length).toBeLessThan(SLOT_MS / 2);
});

it('comes back to a short wait within seconds after a busy spell of the client', () => {
  // Every cell 8 ms late for 2 s (the page busy), then on time again for 10 s: the phase the busy
  // spell pushed later comes back (at 0.005 ms a slot it took ~30 s: a loaded box kept every call
  // waiting most of a slot at each end).
  const arrivals = Array.from({ length: 700 }, (_, i) => i * SLOT_MS + 2 + (i >= 100 && i < 200 ? 8 : 0));
  const out = run(new WireClock(), arrivals);
  const tail = out.slice(-100).map((o) => o.out - o.in);
  expect(tail.reduce((a, b) => a + b, 0) / tail.length).toBeLessThan(6);
});

it('runs an after() action behind the waiting cells even when the queue and budget are full', () => {
  const budget = { used: 0, max: 10 };
  const clock = new WireClock(undefined, budget);
  const order: string[] = [];
  for (let i = 0; i < 20; i++) clock.push(() => order.push(`cell ${i}`));
  expect(budget.used).toBe(10); // the last 10 were dropped
  clock.after(() => order.push('destroy'));
  expect(budget.used).toBe(11);
  vi.advanceTimersByTime(2000);
  expect(order).toEqual([...Array.from({ length: 10 }, (_, i) => `cell ${i}`), 'destroy']);
  expect(budget.used).toBe(0);
});
