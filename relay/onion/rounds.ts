// Wall-clock rounds: every peer's boundaries fall at multiples of round_seconds since the epoch
// (Date.now()), so initiator and destination switch at the same moment without talking about it.
export interface RoundHooks {
  /** `lead` ms before the boundary: build next round's circuits. */
  prebuild(boundary: number): void;
  /** At the boundary: switch. */
  boundary(boundary: number): void;
}

export function nextBoundary(roundMs: number, now = Date.now()): number {
  return (Math.floor(now / roundMs) + 1) * roundMs;
}

export class RoundClock {
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(
    readonly roundMs: number,
    readonly leadMs: number,
    private readonly hooks: RoundHooks,
  ) {}

  start(): void {
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    const now = Date.now();
    let b = nextBoundary(this.roundMs, now);
    if (b - this.leadMs <= now) b += this.roundMs; // too late to prebuild for this one
    const pre = setTimeout(() => this.hooks.prebuild(b), b - this.leadMs - now);
    const at = setTimeout(() => {
      this.hooks.boundary(b);
      this.arm();
    }, b - now);
    this.timers = [pre, at];
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }
}
