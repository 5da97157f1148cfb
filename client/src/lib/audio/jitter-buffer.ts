// Adaptive jitter buffer (pure TS, clock passed in, so it is unit-testable and runs anywhere).
//
// Frames arrive from the network in any order, some twice, some late, some never. The player pulls
// one frame every frameMs of its own clock (the audio device's). The buffer answers each pull with
// the next frame, a concealment request (the decoder runs its loss concealment, or rebuilds the
// frame from the following frame's in-band FEC when that one is here), or silence before the start.
//
// Schedule: pulling frame n at time t puts frame s's slot at t + (s - n) * frameMs. A frame's slack
// is its slot minus its arrival. The buffer keeps the slack of its late frames (the `quantile`-th
// highest transit in the window) within half a frame of `marginMs`: below that it plays one
// concealment frame without advancing (expand); more than a frame above it drops a frame at once
// (accelerate), and above the band for `settle` pulls in a row it drops one too unless the slowest
// frame of the window needs it. Frames come in 20 ms steps, so without that second rule a delay
// could sit up to a frame above its target for good (after the start, a stall, or a path that got
// faster). So the delay follows the observed jitter, and the same control absorbs clock drift
// between the two ends.
// A stall (nothing buffered at all) is waited out with concealment; when frames come back, the
// missing ones already covered by that wait are skipped, so a path that got slower (a new tunnel
// at a round switch-over) costs one gap, not a lost frame per slot.
import { DelayEstimator } from './delay-estimator.ts';

export interface JitterBufferOptions {
  frameMs: number;
  /** Slack (ms) the late frames should still have at their slot; one frame lets FEC work. */
  marginMs: number;
  /** Highest playout delay (ms) above the fastest frame the buffer will build up. */
  maxDelayMs: number;
  /** Frames of transit history (about 3 s); shorter follows drift and calm-down faster. */
  window: number;
  /** Share of frames the delay is sized to catch in time. */
  quantile: number;
  /** Frames held at most; farther ahead means the stream jumped and playout jumps too. */
  capacity: number;
  /**
   * Frames of history at the start (about 0.5 s). The history then grows to `window` by half a
   * frame per frame received: a start-up burst (the first frames held up on the way while the
   * call came up) leaves it within about a second instead of sizing the delay for a whole window,
   * and the delay comes down to what the path needs from the call's first second on.
   */
  startWindow: number;
  /**
   * Excess delay (ms above the band) the player takes out by playing slightly fast (see
   * `excessMs()` and playout.ts) instead of dropping whole frames: a steady, smooth playout delay
   * the echo canceller can follow. Above it (a start-up backlog, a path that got much faster)
   * frames are dropped as before. 0 = always drop (no stretching player).
   */
  stretchMs: number;
  /** Pulls in a row with nothing to play, after which playout resyncs (the sender stopped). */
  maxStall: number;
  /**
   * Pulls in a row (1 s) the slack must stay more than half a frame above `marginMs` before a
   * frame is dropped to get back to it; a short calm spell in the jitter is not excess.
   */
  settle: number;
}

export const DEFAULT_JITTER_OPTIONS: JitterBufferOptions = {
  frameMs: 20,
  marginMs: 20,
  maxDelayMs: 400,
  window: 150,
  startWindow: 25,
  stretchMs: 0,
  quantile: 0.95,
  capacity: 64,
  maxStall: 25,
  settle: 50,
};

export type PushResult = 'ok' | 'duplicate' | 'late' | 'resync';

export type Pull =
  | { kind: 'frame'; seq: number; data: Uint8Array }
  /** Conceal frame `seq` (lost) or one extra frame before it (expand, stall). `next` carries FEC. */
  | { kind: 'conceal'; seq: number; next?: Uint8Array; reason: 'loss' | 'expand' | 'stall' }
  | { kind: 'silence' };

export interface JitterStats {
  received: number;
  played: number;
  /** Frames never received by their playout time (each was concealed or skipped). */
  lost: number;
  late: number;
  duplicate: number;
  /** Frames dropped to shrink the delay (accelerate). */
  dropped: number;
  /** Concealment frames inserted to grow the delay or wait out a stall. */
  expanded: number;
  resyncs: number;
  /** Delay the buffer aims for and the current one, above the fastest frame (ms). */
  targetMs: number;
  delayMs: number;
  /** RFC 3550 interarrival jitter (ms). */
  jitterMs: number;
  buffered: number;
}

export class JitterBuffer {
  private readonly o: JitterBufferOptions;
  private readonly est: DelayEstimator;
  private readonly frames = new Map<number, Uint8Array>();
  /** Next sequence number to play; undefined until playout starts. */
  private next: number | undefined;
  private highest: number | undefined;
  private firstArrival = 0;
  /** Slot time of frame 0 on the receiver clock: t - n * frameMs at the last pull. */
  private schedule = 0;
  private stall = 0;
  /** Pulls in a row whose slack was above the band (see `settle`). */
  private high = 0;
  private readonly s = { received: 0, played: 0, lost: 0, late: 0, duplicate: 0, dropped: 0, expanded: 0 };
  private resyncs = 0;
  /** Frames received since the stream (re)started: the history in use grows with it. */
  private since = 0;

  constructor(opts: Partial<JitterBufferOptions> = {}) {
    this.o = { ...DEFAULT_JITTER_OPTIONS, ...opts };
    this.est = new DelayEstimator(this.o.window);
  }

  /** Adds a frame with its extended sequence number, received at `nowMs`. */
  push(seq: number, data: Uint8Array, nowMs: number): PushResult {
    const cap = this.o.capacity;
    if (this.highest !== undefined && Math.abs(seq - this.highest) > 8 * cap) {
      this.resync(); // the sender restarted or jumped far: start over rather than wait for ghosts
    }
    const transit = nowMs - seq * this.o.frameMs;
    if (this.next !== undefined && seq < this.next) {
      this.s.late++;
      this.est.add(transit); // still a fact about the network: the delay must learn from it
      return 'late';
    }
    if (this.frames.has(seq)) {
      this.s.duplicate++;
      return 'duplicate';
    }
    let result: PushResult = 'ok';
    if (this.next !== undefined && seq >= this.next + cap) {
      this.skip(seq - cap + 1 - this.next); // too far ahead to hold: playout jumps forward
      result = 'resync';
    }
    if (this.highest === undefined) this.firstArrival = nowMs;
    this.frames.set(seq, data);
    while (this.frames.size > cap) this.frames.delete(Math.min(...this.frames.keys()));
    this.highest = Math.max(this.highest ?? seq, seq);
    this.est.add(transit);
    this.s.received++;
    this.since++;
    return result;
  }

  /** The player's pull: what to play for the next frameMs, at `nowMs`. */
  pull(nowMs: number): Pull {
    if (this.next === undefined && !this.start(nowMs)) return { kind: 'silence' };
    const next = this.next!;
    this.schedule = nowMs - next * this.o.frameMs;
    if (!this.frames.has(next)) return this.missing(next);
    this.stall = 0;
    const slack = this.lateSlack();
    if (slack < this.o.marginMs - this.o.frameMs / 2 && this.delayMs() < this.o.maxDelayMs) {
      this.s.expanded++;
      return { kind: 'conceal', seq: next, reason: 'expand' };
    }
    this.high = slack > this.o.marginMs + this.o.frameMs / 2 ? this.high + 1 : 0;
    const dropAbove = this.o.marginMs + Math.max(this.o.frameMs, this.o.stretchMs);
    const settled = this.o.stretchMs === 0 && this.settled();
    if ((slack > dropAbove || settled) && this.frames.has(next + 1)) {
      this.high = 0;
      this.frames.delete(next);
      this.s.dropped++;
      return this.play(next + 1);
    }
    return this.play(next);
  }

  /**
   * How far (ms) the late frames' slack is above `marginMs` (negative: below), at the last pull;
   * undefined before playout starts. A stretching player plays faster while it is positive.
   */
  excessMs(): number | undefined {
    if (this.next === undefined || this.est.size === 0) return undefined;
    return this.lateSlack() - this.o.marginMs;
  }

  stats(): JitterStats {
    return {
      ...this.s,
      resyncs: this.resyncs,
      targetMs: this.q(this.o.quantile) - this.q(0) + this.o.marginMs,
      delayMs: this.next === undefined ? 0 : this.delayMs(),
      jitterMs: this.est.jitterMs,
      buffered: this.frames.size,
    };
  }

  /**
   * Above the band for `settle` pulls, and a frame earlier even the slowest frame of the window
   * would still be inside it: the excess is real. While rare late spikes (beyond the quantile) are
   * about, the delay stays: else a drop would follow every spike's stall, two glitches for one.
   */
  private settled(): boolean {
    const slowest = this.schedule - this.o.frameMs - this.q(1);
    return this.high >= this.o.settle && slowest >= this.o.marginMs - this.o.frameMs / 2;
  }

  /** Slack at its slot of a frame as late as the `quantile`-th one in the window. */
  private lateSlack(): number {
    return this.schedule - this.q(this.o.quantile);
  }

  /** Quantile of the history in use: short at the start, the whole window after a few seconds. */
  private q(quantile: number): number {
    const n = Math.min(this.o.window, Math.max(this.o.startWindow, this.since >> 1));
    return this.est.quantile(quantile, n);
  }

  /** Playout delay above the fastest frame in the window. */
  private delayMs(): number {
    return this.schedule - this.q(0);
  }

  private play(seq: number): Pull {
    const data = this.frames.get(seq)!;
    this.frames.delete(seq);
    this.next = seq + 1;
    this.s.played++;
    return { kind: 'frame', seq, data };
  }

  private missing(next: number): Pull {
    let later = Number.POSITIVE_INFINITY;
    for (const k of this.frames.keys()) later = Math.min(later, k);
    if (later === Number.POSITIVE_INFINITY) {
      // Nothing here: late or lost, we can't tell yet. Conceal and wait without advancing.
      if (++this.stall > this.o.maxStall) {
        this.resync(); // the sender stopped (or the path is down): wait for a fresh start
        return { kind: 'silence' };
      }
      this.s.expanded++;
      return { kind: 'conceal', seq: next, reason: 'stall' };
    }
    // Frames after a gap are here, so the gap's frames are lost. Those the stall already covered
    // with concealment are skipped, to keep the schedule where the stall put it.
    const skip = Math.min(this.stall, later - next);
    this.stall = 0;
    if (skip > 0) {
      this.skip(skip);
      if (this.next === later) return this.play(later);
    }
    const seq = this.next!;
    this.next = seq + 1;
    this.s.lost++;
    return { kind: 'conceal', seq, next: this.frames.get(seq + 1), reason: 'loss' };
  }

  private start(nowMs: number): boolean {
    if (this.frames.size === 0 || nowMs - this.firstArrival < this.o.marginMs) return false;
    this.next = Math.min(...this.frames.keys());
    return true;
  }

  private skip(n: number): void {
    for (let i = 0; i < n; i++) {
      if (!this.frames.delete(this.next! + i)) this.s.lost++;
    }
    this.next = this.next! + n;
  }

  private resync(): void {
    this.frames.clear();
    this.next = undefined;
    this.highest = undefined;
    this.stall = 0;
    this.high = 0;
    this.est.reset();
    this.since = 0;
    this.resyncs++;
  }
}
