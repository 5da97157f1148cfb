// The socket-free NSE simulation: deterministic, accurate enough, and bandwidth per peer that does not
// grow with N (about one forwarded claim per key and round).
import { describe, expect, it } from 'vitest';
import { quantile, type SimOptions, simulate } from '../../relay/dev/nse-sim.ts';

const base: SimOptions = {
  n: 1000,
  rounds: 40,
  keys: 4,
  history: 16,
  roundMs: 30_000,
  sendWindow: 0.5,
  floodMs: 1000,
  seed: 42,
};

const steady = (o: SimOptions) => simulate(o).slice(o.history);

describe('NSE simulation', () => {
  it('is deterministic for a seed', () => {
    expect(simulate({ ...base, rounds: 5 })).toEqual(simulate({ ...base, rounds: 5 }));
  });

  it('estimates N within a factor of 2 in steady state, with no pruning shortcuts taken', () => {
    const rounds = steady(base);
    const errors = rounds.map((r) => Math.abs(r.estimate / base.n - 1));
    expect(quantile(errors, 0.9)).toBeLessThan(1);
    expect(rounds.every((r) => r.pruneViolations === 0)).toBe(true);
  });

  it('floods a few claims per round, not a number growing with N', () => {
    for (const n of [300, 3000, 30_000]) {
      const rounds = steady({ ...base, n });
      const floods = rounds.map((r) => r.announcements);
      expect(quantile(floods, 0.5)).toBeGreaterThanOrEqual(1);
      expect(quantile(floods, 0.5)).toBeLessThan(base.keys * 4);
    }
  });

  it('more keys per round cut the error', () => {
    const err = (keys: number) => {
      const all: number[] = [];
      for (const seed of [1, 2, 3])
        for (const r of steady({ ...base, keys, seed })) all.push(Math.abs(Math.log2(r.estimate / base.n)));
      return quantile(all, 0.5);
    };
    expect(err(8)).toBeLessThan(err(1));
  });
});
