// The onion bench's capacity search and its loss-aware percentile (test/bench/_capacity.ts), driven by
// made-up measurements: which counts it tries, what it reports, and when it stops.
import { describe, expect, it } from 'vitest';
import { percentileWithLoss, searchCapacity } from '../bench/_capacity.ts';

/** A system that meets the limit up to `cap` tunnels; records the counts tried. */
function system(cap: number) {
  const tried: number[] = [];
  const measure = async (n: number) => {
    tried.push(n);
    return { p99: n <= cap ? 5 : 50, extra: n };
  };
  return { tried, measure };
}

describe('searchCapacity', () => {
  it('doubles to the first failure, then bisects to within the resolution', async () => {
    const s = system(300);
    const r = await searchCapacity(s.measure, { start: 25, max: 10_000, limit: 10, budgetMs: 1e9 });
    expect(s.tried.slice(0, 6)).toEqual([25, 50, 100, 200, 400, 300]);
    expect(r.best).toBe(300);
    expect(r.failed).toBeGreaterThan(300);
    expect(r.failed! - r.best).toBeLessThanOrEqual(300 / 8);
    expect(r.stoppedBy).toBe('bracket');
    expect(r.steps.every((x) => x.ok === x.n <= 300)).toBe(true);
    expect(r.steps[0]!.extra).toBe(25);
  });

  it('goes below the first count when that already fails, down to one tunnel', async () => {
    const s = system(3);
    const r = await searchCapacity(s.measure, { start: 25, max: 1000, limit: 10, budgetMs: 1e9 });
    expect(r.best).toBe(3);
    expect(r.failed).toBe(4);
  });

  it('reports 0 when even one tunnel fails', async () => {
    const s = system(0);
    const r = await searchCapacity(s.measure, { start: 8, max: 1000, limit: 10, budgetMs: 1e9 });
    expect(r).toMatchObject({ best: 0, failed: 1, stoppedBy: 'bracket' });
  });

  it('stops at max when every count passes', async () => {
    const s = system(1e9);
    const r = await searchCapacity(s.measure, { start: 100, max: 500, limit: 10, budgetMs: 1e9 });
    expect(s.tried).toEqual([100, 200, 400, 500]);
    expect(r).toMatchObject({ best: 500, failed: undefined, stoppedBy: 'max' });
  });

  it('starts no step that the last step time says would overrun the budget', async () => {
    let clock = 0;
    const tried: number[] = [];
    const measure = async (n: number) => {
      tried.push(n);
      clock += 10; // every step takes 10 time units
      return { p99: 1, extra: null };
    };
    const r = await searchCapacity(measure, {
      start: 1,
      max: 1e6,
      limit: 10,
      budgetMs: 35,
      now: () => clock,
    });
    expect(tried).toEqual([1, 2, 4]); // a fourth step would end at 40 > 35
    expect(r).toMatchObject({ best: 4, stoppedBy: 'budget' });
  });

  it('counts a step at exactly the limit as good', async () => {
    const r = await searchCapacity(async (n) => ({ p99: n <= 10 ? 10 : 11, extra: 0 }), {
      start: 10,
      max: 10,
      limit: 10,
      budgetMs: 1e9,
    });
    expect(r.best).toBe(10);
  });
});

describe('percentileWithLoss', () => {
  it('is the plain percentile when nothing is lost', () => {
    const rtts = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100 unsorted
    expect(percentileWithLoss(rtts, 100, 50)).toBe(51);
    expect(percentileWithLoss(rtts, 100, 99)).toBe(100);
  });

  it('counts lost frames as later than every returned one', () => {
    const rtts = Array.from({ length: 98 }, () => 1);
    expect(percentileWithLoss(rtts, 100, 99)).toBe(Number.POSITIVE_INFINITY);
    expect(percentileWithLoss(rtts, 100, 50)).toBe(1);
    // 1 lost in 1000: p99 still falls on a returned frame.
    expect(
      percentileWithLoss(
        Array.from({ length: 999 }, (_, i) => i),
        1000,
        99,
      ),
    ).toBe(990);
  });

  it('is NaN with nothing sent and nothing returned', () => {
    expect(percentileWithLoss([], 0, 99)).toBeNaN();
  });
});
