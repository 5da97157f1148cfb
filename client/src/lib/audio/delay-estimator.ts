// What the jitter buffer knows about the network: each frame's transit (arrival minus its nominal
// send time seq * frameMs, on the receiver's clock; the unknown clock offset cancels out) over a
// bounded window, and the RFC 3550 interarrival jitter for display.

export class DelayEstimator {
  private readonly transits: Float64Array;
  private count = 0;
  private head = 0;
  private lastTransit: number | undefined;
  /** RFC 3550 interarrival jitter (ms), smoothed with gain 1/16. */
  jitterMs = 0;

  constructor(window: number) {
    this.transits = new Float64Array(window);
  }

  reset(): void {
    this.count = 0;
    this.head = 0;
    this.jitterMs = 0;
    this.lastTransit = undefined;
  }

  get size(): number {
    return this.count;
  }

  add(transit: number): void {
    this.transits[this.head] = transit;
    this.head = (this.head + 1) % this.transits.length;
    if (this.count < this.transits.length) this.count++;
    if (this.lastTransit !== undefined) {
      this.jitterMs += (Math.abs(transit - this.lastTransit) - this.jitterMs) / 16;
    }
    this.lastTransit = transit;
  }

  /**
   * The q-quantile of the transits of the last `last` frames (default: the whole window; q = 0
   * gives the fastest frame).
   */
  quantile(q: number, last = this.count): number {
    const n = Math.min(this.count, Math.max(1, last));
    if (this.count === 0) return 0;
    const len = this.transits.length;
    const recent = new Array<number>(n);
    for (let i = 0; i < n; i++) recent[i] = this.transits[(this.head - 1 - i + len) % len]!;
    recent.sort((a, b) => a - b);
    return recent[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  }
}
