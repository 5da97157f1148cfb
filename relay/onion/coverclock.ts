// The destination of a cover tunnel answers like a callee (issue 15 point 1). Echoing each COVER at
// once made the backward stream the forward one shifted by a round trip, copying its jitter and gaps:
// a first or last hop correlating the two directions of a circuit told cover from a call, whose two
// directions run on two independent audio clocks. Here the answer runs on its own clock: one cell per
// 20 ms slot at a random phase, a small drift of its own and a little per-send jitter, carrying the
// oldest queued echo bytes if any, else fresh random bytes of the size last seen. It starts with the
// first COVER and stops once the initiator has been quiet for a while (as a callee stops when the
// call ends), with a new phase when it starts again.
import { randomBytes } from 'node:crypto';

export const COVER_SLOT_MS = 20;
/** Echo bytes waiting for a slot; beyond, the oldest go (a cover flood must not grow memory). */
export const COVER_QUEUE_MAX = 8;
/** Without COVER for this long (and nothing queued) the clock stops. */
export const COVER_QUIET_MS = 200;
/** Audio clocks differ by tens of ppm; ours differs from the initiator's by up to this much. */
const DRIFT_PPM = 100;
/** Per-send jitter, as a browser's timers and audio callbacks have. */
const JITTER_MS = 2;

export class CoverClock {
  private readonly queue: Uint8Array[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastIn = 0;
  private size = 0;
  private t0 = 0;
  private k = 0;
  private period = COVER_SLOT_MS;
  private stopped = false;

  /** `send(bytes)` sends one COVER_ECHO message back to the initiator. */
  constructor(private readonly send: (data: Uint8Array) => void) {}

  onCover(data: Uint8Array): void {
    if (this.stopped) return;
    this.lastIn = performance.now();
    this.size = data.length;
    this.queue.push(data);
    while (this.queue.length > COVER_QUEUE_MAX) this.queue.shift();
    if (!this.timer) this.startClock();
  }

  private startClock(): void {
    this.period = COVER_SLOT_MS * (1 + ((Math.random() * 2 - 1) * DRIFT_PPM) / 1e6);
    this.t0 = performance.now() + Math.random() * COVER_SLOT_MS; // our own phase
    this.k = 0;
    this.arm();
  }

  private arm(): void {
    const at = this.t0 + this.k * this.period + Math.random() * JITTER_MS;
    this.timer = setTimeout(() => this.tick(), Math.max(0, at - performance.now()));
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = performance.now();
    const data = this.queue.shift();
    if (!data && now - this.lastIn > COVER_QUIET_MS) return; // the initiator stopped: so do we
    this.send(data ?? randomBytes(this.size));
    // A stalled event loop skips the slots it missed instead of bursting them out.
    this.k = Math.max(this.k + 1, Math.ceil((now - this.t0) / this.period));
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.queue.length = 0;
  }
}
