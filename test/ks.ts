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

/** C(n, k), as a float (large values only compared with EXACT_MAX). */
function choose(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return Math.round(c);
}

/**
 * Relabellings a permutation test enumerates exactly when there are at most this many (every
 * k-subset of n units): 4 call rounds among 12 are 495, so the p of the most extreme arrangement is
 * exactly 1 / 495 instead of a Monte-Carlo estimate around it (999 random draws hit it ~2 times).
 */
export const EXACT_MAX = 20_000;

/** Each k-subset of 0..n-1 as labels (true: in the subset); `visit` gets the same array each time. */
function eachSubset(n: number, k: number, visit: (labels: boolean[]) => void): void {
  const idx = Array.from({ length: k }, (_, i) => i);
  const labels = Array.from({ length: n }, (_, i) => i < k);
  for (;;) {
    visit(labels);
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    for (let j = i; j < k; j++) labels[idx[j]!] = false;
    idx[i]!++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1;
    for (let j = i; j < k; j++) labels[idx[j]!] = true;
  }
}

/**
 * The p of an observed statistic by relabelling: every relabelling when there are at most EXACT_MAX
 * (the share, the observed one included, at least as extreme), else `perms` random ones ((1 + hits)
 * / (1 + perms)). `stat(labels)`: the statistic with labels[k] true for the units of group b.
 */
function relabelP(
  n: number,
  nB: number,
  observed: number,
  stat: (labels: boolean[]) => number,
  rand: () => number,
  perms: number,
): number {
  const total = choose(n, nB);
  let atLeast = 0;
  if (total <= EXACT_MAX) {
    eachSubset(n, nB, (labels) => {
      if (stat(labels) >= observed - 1e-12) atLeast++;
    });
    return atLeast / total;
  }
  const labels = Array.from({ length: n }, (_, i) => i >= n - nB);
  for (let p = 0; p < perms; p++) {
    for (let k = labels.length - 1; k > 0; k--) {
      const r = Math.floor(rand() * (k + 1));
      [labels[k], labels[r]] = [labels[r]!, labels[k]!];
    }
    if (stat(labels) >= observed - 1e-12) atLeast++;
  }
  return (1 + atLeast) / (1 + perms);
}

/**
 * KS between two groups of clusters, its p-value from permuting whole clusters between the groups.
 * For samples whose values come in dependent runs (the inter-arrival times of one link in one
 * round: a late cell makes one long gap and one short one, and which circuits share the link is
 * drawn per round), ks2 on the pooled values counts thousands of gaps as independent and tells two
 * idle minutes apart (p 1e-5 to 1e-11 on a quiet box). Under the null the clusters are exchangeable,
 * so the share of random relabellings with a D at least as large as the observed one is an honest
 * p: exact when there are at most EXACT_MAX relabellings, else at a resolution of 1 / (perms + 1).
 * `rand` draws in [0, 1) (a seeded PRNG: the same p each run).
 */
export function ks2Clustered(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  rand: () => number,
  perms = 999,
): KsResult {
  const clusters = [...a, ...b].filter((c) => c.length > 0);
  const nA = a.filter((c) => c.length > 0).length;
  if (nA === 0 || nA === clusters.length) throw new Error('ks2Clustered: empty group');
  // Every value once, sorted, with its cluster: each relabelling is then one linear pass.
  const pool = clusters.flatMap((c, k) => c.map((v) => [v, k] as const)).sort((u, v) => u[0] - v[0]);
  const inA = clusters.map((_, k) => k < nA);
  const d = (labels: boolean[]) => {
    let sizeA = 0;
    for (let k = 0; k < clusters.length; k++) if (labels[k]) sizeA += clusters[k]!.length;
    const sizeB = pool.length - sizeA;
    let i = 0;
    let j = 0;
    let best = 0;
    for (let t = 0; t < pool.length; ) {
      const v = pool[t]![0];
      for (; t < pool.length && pool[t]![0] === v; t++) {
        if (labels[pool[t]![1]]) i++;
        else j++;
      }
      best = Math.max(best, Math.abs(i / sizeA - j / sizeB));
    }
    return best;
  };
  const observed = d(inA);
  // relabelP's labels mark group b, d's group a: the same D, which is symmetric in the two groups.
  const p = relabelP(clusters.length, clusters.length - nA, observed, d, rand, perms);
  return { d: observed, p };
}

/**
 * Two-sample permutation test on the difference of means: the share of random relabellings of the
 * pooled values whose |mean(b) - mean(a)| is at least the observed one. For per-round figures (a
 * relay's cell rate, its active links) whose idle values come in a few discrete levels drawn by the
 * round's paths: a spread estimated from a handful of idle rounds can be ~0 when they happened to
 * draw the same paths, and a normal-theory allowance from it then flags the next path draw. Exact
 * (every relabelling) when there are at most EXACT_MAX.
 */
export function permMeanDiff(
  a: readonly number[],
  b: readonly number[],
  rand: () => number,
  perms = 9999,
): { diff: number; p: number } {
  if (!a.length || !b.length) throw new Error('permMeanDiff: empty group');
  const pool = [...a, ...b];
  const total = pool.reduce((s, v) => s + v, 0);
  const diffOf = (sumB: number) => Math.abs(sumB / b.length - (total - sumB) / a.length);
  const observed = diffOf(b.reduce((s, v) => s + v, 0));
  const sumOf = (labels: boolean[]) => labels.reduce((s, inB, k) => (inB ? s + pool[k]! : s), 0);
  const p = relabelP(pool.length, b.length, observed, (l) => diffOf(sumOf(l)), rand, perms);
  return { diff: observed, p };
}
