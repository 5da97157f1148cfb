// Issue 15 point 4: CallPacing (client/src/lib/pacing/streams.ts) owns "one cell per 20 ms slot in
// every state". On a fake clock: idle, the own stream is cover; a call we place takes the own
// stream over (its cells and filler, no cover beside it); an incoming call gets a stream of its own
// beside the callee's cover, on its own phase, until its tunnel is gone.
import { describe, expect, it } from 'vitest';
import type { Ticker } from '../../client/src/lib/pacing/pacer.ts';
import { CallPacing, type PacedCall } from '../../client/src/lib/pacing/streams.ts';

/** Several tickers on one fake clock (each pacer has its own). */
function fakeClock() {
  let now = 0;
  const timers = new Set<{ cb: () => void; every: number; next: number }>();
  const ticker: Ticker = (cb, every) => {
    const t = { cb, every, next: now + every };
    timers.add(t);
    return () => timers.delete(t);
  };
  return {
    ticker,
    now: () => now,
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers].filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
        if (!due) break;
        now = due.next;
        due.next += due.every;
        due.cb();
      }
      now = end;
    },
  };
}

/** A call whose tunnel is open until `close()`; it counts its filler and its own frames. */
function fakeCall(role: 'caller' | 'callee') {
  const sent: { t: number; kind: 'fill' | 'own' }[] = [];
  let open = true;
  const call = {
    role,
    state: role === 'caller' ? 'connecting' : 'incoming',
    cellsSent: 0,
    fill(): boolean {
      if (!open) return false;
      call.cellsSent++;
      sent.push({ t: clockNow(), kind: 'fill' });
      return true;
    },
    /** The call's own frame of `cells` cells (signalling, media). */
    own(cells: number): void {
      call.cellsSent += cells;
      for (let i = 0; i < cells; i++) sent.push({ t: clockNow(), kind: 'own' });
    },
    close(): void {
      open = false;
      call.state = 'ended';
    },
  };
  let clockNow = () => 0;
  return { call: call as PacedCall & typeof call, sent, setClock: (f: () => number) => (clockNow = f) };
}

function setup(coverAllowed: () => boolean = () => true) {
  const c = fakeClock();
  const covers: number[] = [];
  const p = new CallPacing({
    sendCover: () => covers.push(c.now()),
    coverAllowed,
    pacer: { ticker: c.ticker, now: c.now },
  });
  p.start();
  return { c, p, covers };
}

const inWindow = (ts: number[], a: number, b: number) => ts.filter((t) => t >= a && t < b).length;

describe('CallPacing', () => {
  it('a call we place takes the own stream over: its cells and filler, 50 a second, no cover', () => {
    let ready = false;
    const { c, p, covers } = setup(() => !ready);
    c.advance(1000);
    expect(inWindow(covers, 0, 1000)).toBeGreaterThanOrEqual(49);
    const f = fakeCall('caller');
    f.setClock(c.now);
    p.add(f.call);
    ready = true; // READY: the onion forbids cover, the tunnel carries the stream
    c.advance(1000);
    f.call.own(4); // a 4-cell signalling frame pays 4 slots
    c.advance(1000);
    const calls = f.sent.map((s) => s.t);
    expect(inWindow(covers, 1001, 3000)).toBe(0); // (one at 1000 went before the call)
    expect(Math.abs(inWindow(calls, 1000, 3000) - 100)).toBeLessThanOrEqual(1);
    expect(p.streams).toBe(1);
    f.call.close();
    ready = false; // DESTROY
    c.advance(1000);
    expect(inWindow(covers, 3000, 4000)).toBeGreaterThanOrEqual(49);
  });

  it("an incoming call gets a stream of its own; the callee's cover runs on beside it", async () => {
    const { c, p, covers } = setup();
    c.advance(1000);
    c.advance(7); // the call's stream starts off the cover's phase
    const f = fakeCall('callee');
    f.setClock(c.now);
    p.add(f.call);
    expect(p.streams).toBe(2);
    c.advance(993);
    f.call.own(3);
    c.advance(2000);
    const calls = f.sent.map((s) => s.t);
    expect(Math.abs(inWindow(covers, 1000, 4000) - 150)).toBeLessThanOrEqual(1);
    expect(Math.abs(inWindow(calls, 1007, 4000) - 150)).toBeLessThanOrEqual(1);
    // Its own clock: the call's slots are not the cover's.
    const fills = f.sent.filter((s) => s.kind === 'fill').map((s) => s.t % 20);
    expect(new Set(fills).has(7)).toBe(true);
    f.call.close(); // its tunnel is gone: the stream stops, cover goes on
    c.advance(100);
    await Promise.resolve(); // the stream is let go on a microtask after a slot its tunnel refused
    expect(p.streams).toBe(1);
    const before = f.sent.length;
    c.advance(1000);
    expect(f.sent.length).toBe(before);
    expect(inWindow(covers, 4100, 5100)).toBeGreaterThanOrEqual(49);
  });

  it('stops every stream', () => {
    const { c, p, covers } = setup();
    const f = fakeCall('callee');
    f.setClock(c.now);
    p.add(f.call);
    p.stop();
    c.advance(1000);
    expect(covers.length + f.sent.length).toBe(0);
    expect(p.streams).toBe(0);
  });
});
