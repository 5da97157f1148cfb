// The two-sample KS test the link-observer acceptance (issue 15) relies on: values checked against
// SciPy (scipy.special.kolmogorov, scipy.stats.ks_2samp), and its error rates on seeded samples.
import { expect, it } from 'vitest';
import { kolmogorovQ, ks2 } from '../ks.ts';
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
