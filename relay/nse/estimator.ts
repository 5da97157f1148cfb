// What a relay knows about rounds: the best proximity seen per key in a round (its own claim counts),
// and the history of finished rounds the ESTIMATE is computed from. Pure state, no I/O, no clock.
import { estimateFromProximity } from './round.ts';

/** The best claims seen in one round. */
export class RoundBoard {
  readonly best: Uint8Array;
  /** Best of other peers' authenticated claims per key (only these may silence our own claim). */
  private readonly bestOther: Uint8Array;
  /** Claims from other peers that improved this board. */
  accepted = 0;
  /** Authenticated claims from other peers for this round, better or not: someone else is out there. */
  heard = 0;
  /** Our own claim went out (or is no longer worth sending). */
  announced = false;
  /** A slot we still won was dropped (a stall held it beyond the send window). */
  dropped = false;

  constructor(
    readonly start: number,
    readonly own: Uint8Array,
    /** False when we joined late or lost Gossip during the round: its best may be missing. */
    public complete: boolean,
  ) {
    this.best = own.slice();
    this.bestOther = new Uint8Array(own.length);
  }

  /** True when `p` beats the best seen for at least one key (only such claims are worth spreading). */
  improves(p: Uint8Array): boolean {
    if (p.length !== this.best.length) return false;
    for (let k = 0; k < p.length; k++) if (p[k]! > this.best[k]!) return true;
    return false;
  }

  /** Merge an authenticated claim; returns whether it improved the board. */
  accept(p: Uint8Array): boolean {
    if (!this.improves(p)) return false;
    for (let k = 0; k < p.length; k++) {
      this.best[k] = Math.max(this.best[k]!, p[k]!);
      this.bestOther[k] = Math.max(this.bestOther[k]!, p[k]!);
    }
    this.accepted++;
    return true;
  }

  /** True while our own proximity to key k beats every other claim seen: then it is worth flooding. */
  ownBeats(k: number): boolean {
    return this.own[k]! > this.bestOther[k]!;
  }

  meanBest(): number {
    let sum = 0;
    for (const b of this.best) sum += b;
    return sum / this.best.length;
  }
}

export interface Estimate {
  /** Estimated number of peers, rounded, at least 1. */
  estimate: number;
  /** Standard deviation of the per-round estimates in the history (peers, rounded). */
  deviation: number;
  /** Rounds the figure is based on (0: nothing finished yet). */
  rounds: number;
}

const U32_MAX = 0xffffffff;
const clampU32 = (x: number) => Math.min(U32_MAX, Math.max(0, Math.round(x)));

/** The last `length` finished rounds, as mean best proximity per round. */
export class History {
  private readonly rounds: { start: number; meanBest: number }[] = [];

  constructor(readonly length: number) {}

  get size(): number {
    return this.rounds.length;
  }

  push(start: number, meanBest: number): void {
    this.rounds.push({ start, meanBest });
    while (this.rounds.length > this.length) this.rounds.shift();
  }

  /**
   * Averaging is done on proximities (log scale), as GNUnet does: the max-proximity error is symmetric
   * there, so the mean over H rounds and K keys cuts the error by ~sqrt(H*K) without a bias. Like
   * GNUnet, newer rounds weigh more (the newest H + 1, the oldest 2): the estimate follows churn sooner,
   * and rounds from a network still forming (a cold start: the overlay not yet connected) fade out.
   * The deviation is that of the per-round estimates, with the same weights.
   */
  estimate(): Estimate | undefined {
    const n = this.rounds.length;
    if (n === 0) return undefined;
    // rounds[i] is the (n - i)-th newest: weight i + 2.
    const weight = (i: number) => i + 2;
    let total = 0;
    let mean = 0;
    let avg = 0;
    for (const [i, r] of this.rounds.entries()) {
      total += weight(i);
      mean += weight(i) * r.meanBest;
      avg += weight(i) * estimateFromProximity(r.meanBest);
    }
    mean /= total;
    avg /= total;
    let variance = 0;
    for (const [i, r] of this.rounds.entries())
      variance += weight(i) * (estimateFromProximity(r.meanBest) - avg) ** 2;
    return {
      estimate: Math.max(1, clampU32(estimateFromProximity(mean))),
      deviation: clampU32(Math.sqrt(variance / total)),
      rounds: n,
    };
  }
}

/** Before any round has finished: the best claims of the current round so far (at least our own). */
export function provisionalEstimate(board: RoundBoard | undefined): Estimate {
  const e = board ? estimateFromProximity(board.meanBest()) : 1;
  return { estimate: Math.max(1, clampU32(e)), deviation: 0, rounds: 0 };
}
