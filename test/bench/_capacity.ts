// The capacity search of the onion bench (issue 18): the largest number of tunnels whose added round
// trip p99 stays within a limit, found by measuring: double the count until a step fails, then bisect
// between the last good and the first failing count. Each step is a few seconds of real load, so the
// search stops at a time budget and says so; the caller supplies the measurement.

/** One measured step: `p99` decides it; `extra` is whatever the caller wants printed with it. */
export interface Step<T> {
  n: number;
  p99: number;
  ok: boolean;
  extra: T;
}

export interface Capacity<T> {
  /** The largest count measured with p99 <= limit (0: none). */
  best: number;
  /** The smallest count measured above the limit, if any: the capacity lies in [best, failed). */
  failed?: number;
  steps: Step<T>[];
  /** Why the search ended: the bracket is narrow enough, `max` passed, or the time budget ran out. */
  stoppedBy: 'bracket' | 'max' | 'budget';
}

export interface SearchOptions {
  /** First count tried; doubled while steps pass. */
  start: number;
  /** Largest count tried (the search says `max` when even that passes). */
  max: number;
  /** p99 limit (ms) a step must meet. */
  limit: number;
  /** Total time (ms) the search may take; no step starts that would (by the last step's time) exceed it. */
  budgetMs: number;
  /** Stop bisecting when failed - best <= this share of best (default 1/8, at least 1 tunnel). */
  resolution?: number;
  now?: () => number;
}

export async function searchCapacity<T>(
  measure: (n: number) => Promise<{ p99: number; extra: T }>,
  o: SearchOptions,
): Promise<Capacity<T>> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const steps: Step<T>[] = [];
  let best = 0;
  let failed: number | undefined;
  let lastMs = 0;
  const step = async (n: number): Promise<boolean> => {
    const t = now();
    const m = await measure(n);
    lastMs = now() - t;
    const ok = m.p99 <= o.limit;
    steps.push({ n, p99: m.p99, ok, extra: m.extra });
    if (ok) best = Math.max(best, n);
    else failed = Math.min(failed ?? n, n);
    return ok;
  };
  const outOfTime = () => steps.length > 0 && now() - t0 + lastMs > o.budgetMs;
  const done = (stoppedBy: Capacity<T>['stoppedBy']): Capacity<T> => ({ best, failed, steps, stoppedBy });
  // Doubling: up to the first failing count.
  for (let n = Math.max(1, Math.min(o.start, o.max)); ; n = Math.min(2 * n, o.max)) {
    if (outOfTime()) return done('budget');
    if (!(await step(n))) break;
    if (n >= o.max) return done('max');
  }
  // Bisection between the largest good and the smallest failing count.
  const res = o.resolution ?? 1 / 8;
  while (failed! - best > Math.max(1, Math.floor(best * res))) {
    if (outOfTime()) return done('budget');
    await step(Math.floor((best + failed!) / 2));
  }
  return done('bracket');
}

/**
 * The p-th percentile of round trips when `sent` frames were sent and `rtts` came back: a frame that
 * never came back counts as later than any that did (so losing 2 % of frames fails a p99 limit).
 */
export function percentileWithLoss(rtts: number[], sent: number, p: number): number {
  const total = Math.max(sent, rtts.length);
  if (total === 0) return Number.NaN;
  const i = Math.min(total - 1, Math.floor((p / 100) * total));
  if (i >= rtts.length) return Number.POSITIVE_INFINITY;
  return [...rtts].sort((a, b) => a - b)[i]!;
}
