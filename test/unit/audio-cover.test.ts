import { describe, expect, it } from 'vitest';
import { CALL_DATA_SIZE, CoverSender, type Ticker } from '../../client/src/lib/audio/cover.ts';
import { PAYLOAD_SIZE } from '../../client/src/lib/audio/payload.ts';

/** A ticker driven by the test: `advance(ms)` moves the clock, firing at the given interval. */
function fakeClock() {
  let now = 0;
  let cb: (() => void) | undefined;
  let every = 0;
  let next = 0;
  const ticker: Ticker = (f, ms) => {
    cb = f;
    every = ms;
    next = now + ms;
    return () => {
      cb = undefined;
    };
  };
  return {
    ticker,
    now: () => now,
    advance(ms: number, jitter = () => 0) {
      const end = now + ms;
      while (cb && next <= end) {
        now = next;
        cb();
        next = now + every + jitter();
      }
      now = end;
    },
    /** The timer does not fire for `ms` (a throttled background tab), then fires once. */
    stall(ms: number) {
      now += ms;
      next = now;
      this.advance(0);
    },
  };
}

describe('cover sender', () => {
  it('sends 50 covers a second of a call packet size', () => {
    const c = fakeClock();
    const sizes: number[] = [];
    const s = new CoverSender({ sendCover: (n) => sizes.push(n), ticker: c.ticker, now: c.now });
    s.start();
    c.advance(10_000, () => Math.random() * 8); // timer jitter does not change the rate
    s.stop();
    expect(Math.abs(sizes.length - 500)).toBeLessThanOrEqual(2);
    expect(new Set(sizes)).toEqual(new Set([CALL_DATA_SIZE]));
    expect(CALL_DATA_SIZE).toBe(PAYLOAD_SIZE + 35);
    c.advance(1000);
    expect(sizes.length).toBeLessThanOrEqual(502); // stopped means stopped
  });

  it('skips a stalled backlog instead of bursting', () => {
    const c = fakeClock();
    let sent = 0;
    const s = new CoverSender({ sendCover: () => sent++, ticker: c.ticker, now: c.now });
    s.start();
    c.advance(1000);
    const before = sent;
    // A 1 s stall (background tab): the next tick may send at most maxBurst packets.
    c.stall(1000);
    expect(sent - before).toBeLessThanOrEqual(3);
    expect(s.skipped).toBeGreaterThan(40);
  });

  it('sends nothing while not allowed (a tunnel is being built or READY)', () => {
    const c = fakeClock();
    let sent = 0;
    let allowed = false;
    const s = new CoverSender({
      sendCover: () => sent++,
      allowed: () => allowed,
      ticker: c.ticker,
      now: c.now,
    });
    s.start();
    c.advance(500);
    expect(sent).toBe(0);
    allowed = true;
    c.advance(500);
    expect(sent).toBeGreaterThanOrEqual(24);
  });
});
