// A socket-free simulation of the NSE over many rounds, for the benchmark and its tests. Flooding is
// abstract: an announcement reaches each peer after floodMs * u (u in [0.5, 1), fixed per peer and
// announcement); a peer sends its claim at its slot unless a claim at least as good for that key has
// reached it. Proximities are sampled directly (P(p >= j) = 2^-j), as SHA-256 identities against a
// fresh key give.
import { History } from '../nse/estimator.ts';
import { expectedBest, sendDelay } from '../nse/round.ts';

export interface SimOptions {
  n: number;
  rounds: number;
  keys: number;
  history: number;
  roundMs: number;
  sendWindow: number;
  /** Time for a flood to reach everyone. */
  floodMs: number;
  seed: number;
}

export interface SimRound {
  /** Estimate every peer holds after the round (they all learn the same best claims). */
  estimate: number;
  /**
   * Claims flooded this round. Every peer receives and forwards each flooded claim once (Gossip
   * spreads every authentic claim), so this is also the claims per peer per round.
   */
  announcements: number;
  /** Candidate slots cut by the pruning that could have mattered (should stay 0). */
  pruneViolations: number;
}

/** xorshift32: deterministic and fast; good enough for sampling proximities. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Leading matching bits of a random identity with a key: geometric, P(p >= j) = 2^-j. */
function sampleProximity(next: () => number): number {
  let p = 0;
  for (;;) {
    const x = next();
    if (x !== 0) return p + Math.clz32(x);
    p += 32;
  }
}

/** A stable pseudo-random u in [0.5, 1) for (peer, announcement). */
function arrivalFactor(peer: number, ann: number): number {
  let h = Math.imul(peer ^ 0x5bd1e995, 0x27d4eb2d) ^ Math.imul(ann + 1, 0x165667b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return 0.5 + (h >>> 0) / 2 ** 33;
}

interface Slot {
  peer: number;
  k: number;
  at: number;
}
interface Announcement {
  peer: number;
  at: number;
}

/** Slots closer than this many bits to the best are simulated exactly; the rest are checked to be moot. */
const PRUNE_MARGIN = 8;

export function simulateRound(o: SimOptions, next: () => number, estimate: number) {
  const { n, keys } = o;
  const prox = new Uint8Array(n * keys);
  const best = new Uint8Array(keys);
  for (let i = 0; i < n * keys; i++) {
    prox[i] = sampleProximity(next);
    if (prox[i]! > best[i % keys]!) best[i % keys] = prox[i]!;
  }
  const expected = expectedBest(estimate);
  let anns: Announcement[] = [];
  let pruneViolations = 0;
  // Simulate slots within `margin` bits of the best exactly; widen until the pruned ones are provably moot.
  for (let margin = PRUNE_MARGIN; ; margin *= 2) {
    anns = runSlots(o, prox, best, expected, margin);
    pruneViolations = countViolations(o, prox, best, expected, margin, anns);
    if (pruneViolations === 0 || margin > 256) break;
  }
  const meanBest = best.reduce((a, b) => a + b, 0) / keys;
  return { meanBest, announcements: anns.length, pruneViolations };
}

function runSlots(
  o: SimOptions,
  prox: Uint8Array,
  best: Uint8Array,
  expected: number,
  margin: number,
): Announcement[] {
  const { n, keys } = o;
  const window = o.roundMs * o.sendWindow;
  const slots: Slot[] = [];
  for (let i = 0; i < n * keys; i++) {
    const k = i % keys;
    if (prox[i]! + margin < best[k]!) continue;
    slots.push({ peer: (i / keys) | 0, k, at: sendDelay(prox[i]!, expected, window) });
  }
  slots.sort((a, b) => a.at - b.at);
  const anns: Announcement[] = [];
  const announced = new Set<number>();
  for (const s of slots) {
    if (announced.has(s.peer)) continue;
    // Does the peer know a claim at least as good for key k, arrived by its slot?
    const mine = prox[s.peer * keys + s.k]!;
    const beaten = anns.some(
      (a) => a.at + o.floodMs * arrivalFactor(s.peer, a.peer) <= s.at && prox[a.peer * keys + s.k]! >= mine,
    );
    if (beaten) continue;
    anns.push({ peer: s.peer, at: s.at });
    announced.add(s.peer);
  }
  return anns;
}

/** Keys whose best claim reached everyone only after the first pruned slot (p < best - margin). */
function countViolations(
  o: SimOptions,
  prox: Uint8Array,
  best: Uint8Array,
  expected: number,
  margin: number,
  anns: Announcement[],
): number {
  let violations = 0;
  for (let k = 0; k < o.keys; k++) {
    if (best[k]! - margin - 1 < 0) continue; // nothing was pruned for this key
    const first = anns.find((a) => prox[a.peer * o.keys + k] === best[k]);
    const prunedFrom = sendDelay(best[k]! - margin - 1, expected, o.roundMs * o.sendWindow);
    if (!first || first.at + o.floodMs > prunedFrom) violations++;
  }
  return violations;
}

export function simulate(o: SimOptions): SimRound[] {
  const next = rng(o.seed);
  const history = new History(o.history);
  const out: SimRound[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const current = history.estimate()?.estimate ?? 1;
    const round = simulateRound(o, next, current);
    history.push(r, round.meanBest);
    out.push({ ...round, estimate: history.estimate()!.estimate });
  }
  return out;
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
