// The destination of a cover tunnel answers like a callee (issue 15 point 1). Echoing each COVER at
// once made the backward stream the forward one shifted by a round trip, copying its jitter and gaps:
// a first or last hop correlating the two directions of a circuit told cover from a call, whose two
// directions run on two independent clocks. Here the answer runs on a slot clock of its own
// (slottimer.ts, the same one that times a callee's data, wireclock.ts: a random phase, a drift of its
// own, at most 3 at once after a stall, the slots it skipped paid back later), carrying the oldest
// queued echo bytes if any, else fresh random bytes of the size last seen. It stops once the
// initiator has been quiet for a while (as a callee stops when the call ends).
//
// Its slots sit on the wall clock's 20 ms grid at the phase the initiator chose, as a callee's clock
// runs on through every round at one phase. A circuit built for the next round starts answering at
// the boundary (`begin`), as a callee's stream moves to its new circuit then; and a round's old
// circuit stops at the boundary with nothing drained. A curious hop saw the difference before: a new
// cover circuit's answer began only when the first COVER had come all the way (41 ms after the
// boundary at the hop, a call's 16 ms), and an old one's ran ~20 ms past the boundary (a call's none).
import { randomBytes } from 'node:crypto';
import { SLOT_MS, SlotTimer } from './slottimer.ts';

/** Echo bytes waiting for a slot; beyond, the oldest go (a cover flood must not grow memory). */
export const COVER_QUEUE_MAX = 8;
/** Without COVER for this long (and nothing queued) the clock stops. */
export const COVER_QUIET_MS = 200;
/**
 * After a round boundary a cover circuit's forward stream has moved to the next round's circuit: COVER
 * still in flight for this long is not answered (a callee's stream moves at the boundary too).
 */
export const COVER_RETIRE_MS = 250;
/** Clocks differ by tens of ppm; ours differs from the initiator's by up to this much. */
const DRIFT_PPM = 100;
/**
 * Slots skipped at a stall are owed and paid back one extra per slot (at most this many owed): a
 * curious hop counted ~9 % fewer cells back than forward on a busy relay, where a call's two ends
 * send one for one.
 */
const COVER_DEBT_MAX = 25;

export class CoverClock {
  private readonly queue: Uint8Array[] = [];
  private readonly timer = new SlotTimer((skipped, late) => this.slot(skipped, late));
  private lastIn = 0;
  private lastSlot = 0;
  private stalledAt = 0;
  private size = 0;
  private debt = 0;
  private stopped = false;
  private mutedUntil = 0;
  /** The clock has run (answered) on this circuit: a boundary retires it instead of beginning it. */
  private started = false;

  /**
   * `send(bytes)` sends one COVER_ECHO message back to the initiator. `phase` (0-255, of a slot):
   * where our slots fall after the first COVER's arrival; the initiator chooses it (OPEN) and keeps
   * it across rounds, as a call's two clocks keep their phases for the whole call. Else random.
   */
  constructor(
    private readonly send: (data: Uint8Array) => void,
    private readonly phase = Math.floor(Math.random() * 256),
  ) {}

  onCover(data: Uint8Array): void {
    if (this.stopped || performance.now() < this.mutedUntil) return;
    this.lastIn = performance.now();
    this.size = data.length;
    this.queue.push(data);
    while (this.queue.length > COVER_QUEUE_MAX) this.queue.shift();
    if (!this.timer.running) this.run();
  }

  /**
   * The round boundary of a circuit built for the round now starting: answer from now on, before
   * the first COVER has come, as a callee's clock moves its stream to the new circuit at the
   * boundary. A clock that has run before (a circuit kept across rounds) waits for COVER instead.
   */
  begin(): void {
    if (this.stopped || this.started || this.timer.running) return;
    this.lastIn = performance.now();
    this.run();
  }

  /** Start the slots at the next point of the wall clock's 20 ms grid plus our phase. */
  private run(): void {
    const now = performance.now();
    const wall = Date.now() - now; // wall time minus performance time
    const offset = ((this.phase + Math.random()) * SLOT_MS) / 256;
    const at = Math.ceil((now + wall - offset) / SLOT_MS) * SLOT_MS + offset - wall;
    const period = SLOT_MS * (1 + ((Math.random() * 2 - 1) * DRIFT_PPM) / 1e6);
    this.started = true;
    this.debt = 0;
    this.lastSlot = now;
    this.timer.start(at, period);
  }

  /** One slot; false once the initiator has gone quiet and nothing is left to send. */
  private slot(skipped: number, late: number): boolean {
    if (this.stopped) return false;
    const now = performance.now();
    // Quiet is judged only a quiet time after a stall of our own: the COVER that arrived meanwhile
    // may not have been read yet (stopping then would also forget the debt). Debt is paid back only
    // on a slot that came on time: one a whole slot late is already one of a burst.
    const stalled = skipped > 0 || late >= SLOT_MS || now - this.lastSlot > COVER_QUIET_MS / 2;
    if (stalled) this.stalledAt = now;
    this.lastSlot = now;
    const quiet = now - this.lastIn > COVER_QUIET_MS && now - this.stalledAt > COVER_QUIET_MS;
    if (quiet && this.queue.length === 0) return false;
    this.debt = Math.min(COVER_DEBT_MAX, this.debt + skipped);
    let n = 1;
    if (!stalled && this.debt > 0) {
      this.debt--;
      n++;
    }
    for (let i = 0; i < n; i++) this.send(this.queue.shift() ?? randomBytes(this.size));
    return true;
  }

  /**
   * The round boundary: the initiator's cover now runs on its next circuit, and a callee's answer
   * stops on the old one at the same moment (inbound.ts onBoundary), its queued cells going on the
   * new circuit. So this circuit's answer stops now and its queued echoes go unsent. Answering on
   * for the quiet time sent ~9 % more cells back than came forward on a 2 s round, which a curious
   * hop counted. A cover circuit that carries on (its successor failed to build) is answered again
   * after the mute.
   */
  retire(): void {
    if (!this.timer.running) return; // a circuit built for the next round: begin() starts it
    this.timer.stop();
    this.queue.length = 0;
    this.mutedUntil = performance.now() + COVER_RETIRE_MS;
  }

  stop(): void {
    this.stopped = true;
    this.timer.stop();
    this.queue.length = 0;
  }
}
