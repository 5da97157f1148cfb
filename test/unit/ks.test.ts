// The two-sample KS test the link-observer acceptance (issue 15) relies on: values checked against
// SciPy (scipy.special.kolmogorov, scipy.stats.ks_2samp), and its error rates on seeded samples.
import { expect, it } from 'vitest';
import { kolmogorovQ, ks2, ks2Clustered, permMeanDiff } from '../ks.ts';
import { mulberry32 } from '../prng.ts';

it('the Kolmogorov tail matches SciPy', () => {
  expect(kolmogorovQ(1.0)).toBeCloseTo(0.26999967167735456, 10);
  expect(kolmogorovQ(0.5)).toBeCloseTo(0.9639452436648751, 10);
  expect(kolmogorovQ(1.63)).toBeCloseTo(0.009846364888486529, 10);
  expect(kolmogorovQ(0.05)).toBe(1);
  expect(kolmogorovQ(10)).toBeLessThan(1e-80);
});

it('D is the largest gap between the empirical CDFs, ties stepped together (SciPy: 0.6071)', () => {
  const a = [0.1, 0.5, 0.9, 1.3, 2.2, 3.1, 0.4, 0.7];
  const b = [1.5, 2.5, 3.5, 0.2, 4.0, 2.8, 3.3];
  const r = ks2(a, b);
  expect(r.d).toBeCloseTo(0.6071428571428572, 12);
  // Stephens-corrected asymptotic p for these sizes (SciPy's kolmogorov at the same λ).
  expect(r.p).toBeCloseTo(0.07528772410866552, 8);
  expect(ks2([1, 1, 2], [1, 1, 2]).d).toBe(0);
  expect(ks2([1, 2, 3], [1, 2, 3]).p).toBe(1);
  expect(() => ks2([], [1])).toThrow();
});

it('rejects a 20 % shift and keeps false alarms near the 1 % level on one distribution', () => {
  const rnd = mulberry32(15);
  const exp = (mean: number, n: number) => Array.from({ length: n }, () => -mean * Math.log(1 - rnd()));
  let alarms = 0;
  const trials = 400;
  for (let t = 0; t < trials; t++) if (ks2(exp(20, 200), exp(20, 300)).p < 0.01) alarms++;
  expect(alarms / trials).toBeLessThan(0.03);
  expect(ks2(exp(20, 3000), exp(25, 3000)).p).toBeLessThan(1e-6);
});

// Gaps come in clusters (one link, one round) that each have a timing of their own: a cluster here
// is 200 gaps around 20 ms shifted by its own offset, drawn alike for both groups. Pooled, KS sees
// the offsets and calls two draws of one process different; relabelling whole clusters does not.
it('clustered: no false alarm where pooled KS sees cluster offsets; a real shift is still seen', () => {
  const rnd = mulberry32(7);
  const cluster = (shift: number) => {
    const offset = 4 * (rnd() - 0.5) + shift;
    return Array.from({ length: 200 }, () => 20 + offset + 2 * (rnd() - 0.5));
  };
  const group = (n: number, shift = 0) => Array.from({ length: n }, () => cluster(shift));
  let pooledAlarms = 0;
  let clusteredAlarms = 0;
  const trials = 30;
  for (let t = 0; t < trials; t++) {
    const [a, b] = [group(16), group(8)];
    if (ks2(a.flat(), b.flat()).p < 0.01) pooledAlarms++;
    if (ks2Clustered(a, b, rnd, 199).p < 0.01) clusteredAlarms++;
  }
  expect(pooledAlarms).toBeGreaterThan(trials / 2);
  expect(clusteredAlarms).toBeLessThanOrEqual(2);
  // Every cluster of the second group 3 ms late: beyond the offsets' spread, told at p < 0.01.
  expect(ks2Clustered(group(16), group(8, 3), rnd, 999).p).toBeLessThan(0.01);
  // One cluster against sixteen: p cannot go below 1/17, so a one-round phase needs enough idle.
  expect(ks2Clustered(group(16), group(1, 3), rnd, 999).p).toBeGreaterThan(1 / 18);
  expect(() => ks2Clustered([], [[1]], rnd)).toThrow();
});

it('permMeanDiff: calibrated on draws of one discrete process, and catches a real shift', () => {
  const rand = mulberry32(17);
  // Per-round rates of a relay whose role each round is middle (330) or destination (225), 2 : 1.
  const draw = () => (rand() < 2 / 3 ? 330 : 225) + (rand() - 0.5) * 6;
  let alarms = 0;
  for (let i = 0; i < 200; i++) {
    const a = Array.from({ length: 8 }, draw);
    const b = Array.from({ length: 4 }, draw);
    if (permMeanDiff(a, b, rand, 999).p < 0.01) alarms++;
  }
  expect(alarms).toBeLessThanOrEqual(6); // ~1 % of 200, with room for chance
  // Every round of the phase one role lower (a whole stream gone): caught.
  const a = Array.from({ length: 8 }, draw);
  expect(permMeanDiff(a, [120, 118, 121, 119], rand, 999).p).toBeLessThan(0.01);
});

it('exact when the relabellings are few: 4 units among 12 read p = (relabellings as extreme) / 495', () => {
  const rand = mulberry32(15);
  const low = [1, 2, 3, 4, 5, 6, 7, 8];
  // |diff| 6 is reached by the 4 highest and the 4 lowest values alone: 2 of 495.
  expect(permMeanDiff(low, [9, 10, 11, 12], rand).p).toBeCloseTo(2 / 495, 12);
  // One cluster per unit: the 4 clusters beyond every other one are the single most extreme D.
  const cl = (v: number) => [v, v + 0.1, v + 0.2];
  const p = ks2Clustered(low.map(cl), [9, 10, 11, 12].map(cl), rand).p;
  expect(p).toBeCloseTo(2 / 495, 12); // D = 1 for the 4 highest and for the 4 lowest
  expect(ks2Clustered(low.map(cl), [2, 5, 9, 12].map(cl), rand).p).toBeGreaterThan(0.1);
});
