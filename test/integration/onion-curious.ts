// A curious hop, for the unobservability tests (issue 15): it records, per circuit passing through
// it, when each RELAY cell arrived in each direction, and computes what a real attacker would from
// that: the cross-correlation of the two directions' inter-arrival series and their burstiness.
import type { HopCircuit } from '../../relay/onion/hop.ts';
import type { OnionDebug } from '../../relay/onion/debug.ts';

export interface Trace {
  fwd: number[];
  back: number[];
}

/**
 * Start recording at relay `d`; returns the traces (by circuit), every hop circuit seen by the id
 * its previous hop knows it by (to follow a circuit to its end, for the test's ground truth only),
 * and a stop function.
 */
export function watchHop(d: OnionDebug): {
  traces: Map<HopCircuit, Trace>;
  byPrevId: Map<number, HopCircuit>;
  stop(): void;
} {
  const traces = new Map<HopCircuit, Trace>();
  const byPrevId = new Map<number, HopCircuit>();
  d.observeHops((hop, forward) => {
    byPrevId.set(hop.prevId, hop);
    if (!hop.next) return; // the circuit ends here: not a middle hop's view
    let t = traces.get(hop);
    if (!t) {
      t = { fwd: [], back: [] };
      traces.set(hop, t);
    }
    (forward ? t.fwd : t.back).push(performance.now());
  });
  return { traces, byPrevId, stop: () => d.observeHops(undefined) };
}

export function diffs(times: number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push(times[i]! - times[i - 1]!);
  return out;
}

function pearson(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  if (n < 3) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i]! - ma) * (b[i]! - mb);
    da += (a[i]! - ma) ** 2;
    db += (b[i]! - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/** Correlation of the two inter-arrival series at each lag in [-maxLag, maxLag] (index-aligned). */
export function xcorr(fwd: number[], back: number[], maxLag = 5): number[] {
  const out: number[] = [];
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    out.push(lag >= 0 ? pearson(fwd.slice(lag), back) : pearson(fwd, back.slice(-lag)));
  }
  return out;
}

/** Ranks (ties averaged away by index order): Spearman's correlation, robust to a few huge gaps. */
function ranks(x: number[]): number[] {
  const idx = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(x.length);
  idx.forEach(([, i], k) => {
    r[i] = k;
  });
  return r;
}

/**
 * The largest |rank correlation| of the two inter-arrival series over the lags: an echo puts ~1 at
 * the echo's lag. Ranks, because a stall of a whole machine delays both directions at once (one huge
 * gap each, then a burst) and would dominate a plain Pearson correlation, for calls as for cover.
 */
export function maxXcorr(t: Trace, maxLag = 5): number {
  return Math.max(...xcorr(ranks(diffs(t.fwd)), ranks(diffs(t.back)), maxLag).map(Math.abs));
}

/** Correlation of the per-bin cell counts of the two directions, binned at `binMs`, lags ±`maxLag` bins. */
export function binnedXcorr(t: Trace, binMs = 100, maxLag = 10): number {
  const start = Math.min(t.fwd[0] ?? 0, t.back[0] ?? 0);
  const end = Math.max(t.fwd.at(-1) ?? 0, t.back.at(-1) ?? 0);
  const bins = Math.max(1, Math.ceil((end - start) / binMs));
  const count = (ts: number[]) => {
    const c = new Array<number>(bins).fill(0);
    for (const x of ts) c[Math.min(bins - 1, Math.floor((x - start) / binMs))]!++;
    return c;
  };
  return Math.max(...xcorr(count(t.fwd), count(t.back), maxLag).map(Math.abs));
}

/** Coefficient of variation of a direction's inter-arrival times (bursts, gaps). */
export function cv(times: number[]): number {
  const d = diffs(times);
  if (d.length < 2) return 0;
  const m = d.reduce((a, b) => a + b, 0) / d.length;
  const v = d.reduce((a, b) => a + (b - m) ** 2, 0) / d.length;
  return m > 0 ? Math.sqrt(v) / m : 0;
}

/**
 * A sender pacing one message per 20 ms on its own timer, with the jitter browser timers have: a few
 * ms on every tick, and now and then a late timer (a busy page) that the sender catches up on with a
 * short burst, as the client's CoverSender does (at most 3 at once).
 */
export function pace(send: () => void, jitterMs = 4): () => void {
  let stopped = false;
  let next = performance.now();
  const tick = () => {
    if (stopped) return;
    for (let i = 0; i < 3 && next <= performance.now() + 1; i++) {
      send();
      next += 20;
    }
    if (next < performance.now()) next = performance.now(); // missed slots are not paid later
    const late = Math.random() < 0.05 ? 30 + Math.random() * 40 : 0;
    const delay = next - performance.now() + (Math.random() * 2 - 1) * jitterMs + late;
    setTimeout(tick, Math.max(0, delay));
  };
  setTimeout(tick, Math.random() * 20);
  return () => {
    stopped = true;
  };
}

/**
 * A sender paced as the client's CoverSender (client/src/lib/pacing/pacer.ts): a ticker at 10 ms with
 * timer jitter, sending every 20 ms slot that came due since its own t0, at most 3 at once after a
 * stall (the rest skipped). Each end of a call runs one on its own clock, as real clients do.
 */
export function paceLikeClient(send: () => void, jitterMs = 2): () => void {
  let stopped = false;
  const t0 = performance.now() + Math.random() * 20;
  let due = 0;
  const tick = () => {
    if (stopped) return;
    let n = Math.floor((performance.now() - t0) / 20) + 1 - due;
    if (n > 3) {
      due += n - 3;
      n = 3;
    }
    for (let i = 0; i < n; i++, due++) send();
    setTimeout(tick, 10 + (Math.random() * 2 - 1) * jitterMs);
  };
  setTimeout(tick, Math.random() * 10);
  return () => {
    stopped = true;
  };
}
