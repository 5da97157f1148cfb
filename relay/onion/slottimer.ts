// A relay's own 20 ms slot clock, the one timing every stream a tunnel's endpoint puts on the wire
// (issue 15): the cover answer (coverclock.ts) and whatever the client hands over, cover or call
// (wireclock.ts). One timer discipline for both, so a curious hop or a link observer sees the same
// clock whether a circuit carries cover or a call. A timer is armed for each slot (not a coarse
// ticker), so a cell leaves within a millisecond or so of its slot.
export const SLOT_MS = 20;
/** Slots run at most in one go after a stall (a relay's event loop blocked); the rest are skipped. */
export const MAX_BURST = 3;

export class SlotTimer {
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  /** Index of the next slot to run. */
  private k = 0;

  /**
   * `onSlot(skipped, lateMs)`: one slot came due, `lateMs` ago; `skipped` slots before it went by
   * unrun (a stall). Return false to stop the clock.
   */
  constructor(
    private readonly onSlot: (skipped: number, lateMs: number) => boolean,
    private period = SLOT_MS,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Start with the first slot at `at` (performance.now() time). */
  start(at: number, period = this.period): void {
    this.stop();
    this.period = period;
    this.t0 = at;
    this.k = 0;
    this.arm();
  }

  /** When the next slot comes (performance.now() time). */
  nextAt(): number {
    return this.t0 + this.k * this.period;
  }

  /** Move every later slot by `ms` (a phase-locked loop's small step). */
  shift(ms: number): void {
    this.t0 += ms;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.nextAt() - performance.now()));
    this.timer.unref();
  }

  private fire(): void {
    const now = performance.now();
    let due = Math.floor((now - this.nextAt()) / this.period) + 1;
    let skipped = 0;
    if (due > MAX_BURST) {
      skipped = due - MAX_BURST;
      this.k += skipped;
      due = MAX_BURST;
    }
    for (let i = 0; i < Math.max(1, due); i++) {
      const late = now - this.nextAt();
      this.k++;
      if (!this.onSlot(i === 0 ? skipped : 0, Math.max(0, late))) {
        this.timer = undefined;
        return;
      }
    }
    this.arm();
  }
}
