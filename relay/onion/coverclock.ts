// The destination of a cover tunnel answers like a callee (issue 15 point 1). Echoing each COVER at
// once made the backward stream the forward one shifted by a round trip, copying its jitter and gaps:
// a first or last hop correlating the two directions of a circuit told cover from a call, whose two
// directions run on two independent audio clocks. Here the answer runs on its own clock, paced as the
// client paces (one cell per 20 ms slot from a random phase, a drift of its own, a jittery 10 ms
// ticker, at most 3 at once after a stall, the slots it skipped paid back later), carrying the
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
/** Jitter of our ticker, as a browser's timers have. */
const JITTER_MS = 2;
/** Slots sent at most in one tick after a stall (the client's CoverSender.maxBurst). */
const MAX_BURST = 3;
/**
 * Slots skipped at a stall are owed and paid back one extra per tick that sends (at most this many
 * owed): a curious hop counted ~9 % fewer cells back than forward on a busy relay, where a call's
 * two ends send one for one.
 */
const COVER_DEBT_MAX = 25;

export class CoverClock {
  private readonly queue: Uint8Array[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private lastIn = 0;
  private size = 0;
  private t0 = 0;
  private due = 0;
  private period = COVER_SLOT_MS;
  private debt = 0;
  private lastTick = 0;
  private stopped = false;

  /** `send(bytes)` sends one COVER_ECHO message back to the initiator. */
  constructor(private readonly send: (data: Uint8Array) => void) {}

  onCover(data: Uint8Array): void {
    if (this.stopped) return;
    this.lastIn = performance.now();
    this.size = data.length;
    this.queue.push(data);
    while (this.queue.length > COVER_QUEUE_MAX) this.queue.shift();
    if (!this.ticker) this.startClock();
  }

  // The same pacing as the client's CoverSender (client/src/lib/audio/cover.ts), so the answer has a
  // callee's shape: a ticker at half the slot, each tick sending the slots that came due (at most
  // MAX_BURST after a stall, the rest skipped), slots every 20 ms from our own t0 and drift.
  private startClock(): void {
    this.period = COVER_SLOT_MS * (1 + ((Math.random() * 2 - 1) * DRIFT_PPM) / 1e6);
    this.t0 = performance.now() + Math.random() * COVER_SLOT_MS; // our own phase
    this.due = Math.max(0, Math.floor((performance.now() - this.t0) / this.period) + 1);
    this.debt = 0;
    this.lastTick = performance.now();
    const tick = () => this.tick();
    const arm = () => {
      this.ticker = setTimeout(
        () => {
          if (tick()) arm();
          else this.ticker = undefined;
        },
        COVER_SLOT_MS / 2 + (Math.random() * 2 - 1) * JITTER_MS,
      );
      this.ticker.unref();
    };
    arm();
  }

  /** One tick; false once the initiator has gone quiet and nothing is left to send. */
  private tick(): boolean {
    if (this.stopped) return false;
    const now = performance.now();
    // Quiet is judged only on a tick that came on time: after a stall of our own, the COVER that
    // arrived meanwhile may not have been read yet (stopping then would also forget the debt).
    const stalled = now - this.lastTick > COVER_QUIET_MS / 2;
    this.lastTick = now;
    if (!stalled && this.queue.length === 0 && now - this.lastIn > COVER_QUIET_MS) return false;
    const target = Math.floor((now - this.t0) / this.period) + 1;
    let n = target - this.due;
    if (n > MAX_BURST) {
      this.debt = Math.min(COVER_DEBT_MAX, this.debt + n - MAX_BURST); // the clock stalled: don't burst
      this.due += n - MAX_BURST;
      n = MAX_BURST;
    }
    this.due += n;
    if (n > 0 && n < MAX_BURST && this.debt > 0) {
      this.debt--;
      n++;
    }
    for (let i = 0; i < n; i++) this.send(this.queue.shift() ?? randomBytes(this.size));
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.ticker);
    this.queue.length = 0;
  }
}
