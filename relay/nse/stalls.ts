// Event-loop stalls of this process, remembered as time intervals. A stall in a round's send window
// makes slots fire late: the best claims are then held back (the stall defence) or sent in a heap, so
// the round's best is not the network's. Such a round must not enter the history. One watch per
// process: in a one-process testnet every relay stalls together, and each of them must know it.

export interface StallWatch {
  /** Longest stall overlapping [from, to] (ms), including one going on right now. */
  longestBetween(from: number, to: number): number;
  /** When the stall that covers time `at` began (it may be ending right now); undefined if none did. */
  stallStart(at: number): number | undefined;
  acquire(): void;
  release(): void;
}

const TICK_MS = 25;
/** Gaps between ticks longer than this are stalls (timer jitter stays well below). */
const MIN_STALL_MS = 2 * TICK_MS;
/** Stalls remembered (the oldest go first): a few rounds' worth even when stalls are frequent. */
const MAX_STALLS = 256;

export class LoopWatch implements StallWatch {
  private readonly stalls: { from: number; to: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private users = 0;
  private last = 0;

  constructor(private readonly now: () => number = Date.now) {}

  acquire(): void {
    if (this.users++ > 0) return;
    this.last = this.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  release(): void {
    if (this.users === 0 || --this.users > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  longestBetween(from: number, to: number): number {
    let longest = 0;
    for (const s of this.stalls) if (s.to > from && s.from < to) longest = Math.max(longest, s.to - s.from);
    // A stall that ends just now: our caller's timer may run before the watch's tick notes it.
    const ongoing = this.now() - this.last;
    if (this.timer && this.last < to && ongoing > MIN_STALL_MS) longest = Math.max(longest, ongoing);
    return longest;
  }

  stallStart(at: number): number | undefined {
    for (const s of this.stalls) if (s.from <= at && at < s.to) return s.from;
    if (this.timer && this.last <= at && this.now() - this.last > MIN_STALL_MS) return this.last;
    return undefined;
  }

  private tick(): void {
    const now = this.now();
    if (now - this.last > MIN_STALL_MS) {
      this.stalls.push({ from: this.last, to: now });
      if (this.stalls.length > MAX_STALLS) this.stalls.shift();
    }
    this.last = now;
  }
}

/** The process's watch, shared by every NSE engine in it. */
export const loopStalls: StallWatch = new LoopWatch();
