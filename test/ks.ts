// Two-sample Kolmogorov–Smirnov test, for the unobservability acceptance (issue 15): could a link
// observer tell one period's inter-arrival times or rates from another's? D is the largest gap
// between the two empirical distribution functions; the p-value is the asymptotic Kolmogorov
// distribution at the effective sample size with Stephens' small-sample correction (as Numerical
// Recipes' kstwo), good to a few % for n·m/(n+m) ≥ 4, which is all a decision at p < 0.01 needs.

export interface KsResult {
  /** The statistic: max |F_a(x) − F_b(x)|. */
  d: number;
  /** Probability of a D at least this large if both samples come from one distribution. */
  p: number;
}

/** Q_KS(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}, the Kolmogorov distribution's tail. */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 0.2) return 1; // the series converges slowly here and is 1 to 1e-9
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k++) {
    const term = sign * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12 * Math.abs(sum) || Math.abs(term) < 1e-300) break;
    sign = -sign;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** The two-sample statistic and p-value; samples need not be sorted nor of equal size. */
export function ks2(a: readonly number[], b: readonly number[]): KsResult {
  if (a.length === 0 || b.length === 0) throw new Error('ks2: empty sample');
  const x = [...a].sort((u, v) => u - v);
  const y = [...b].sort((u, v) => u - v);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    // Step past every copy of v in both samples before comparing (ties move both CDFs at once).
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const ne = (x.length * y.length) / (x.length + y.length);
  const sq = Math.sqrt(ne);
  return { d, p: kolmogorovQ((sq + 0.12 + 0.11 / sq) * d) };
}
