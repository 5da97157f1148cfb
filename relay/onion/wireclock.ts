// A tunnel endpoint's sending clock (issue 15): every cell the client hands over for the wire, cover or
// call, leaves on the relay's own slot clock (slottimer.ts), one per 20 ms slot, instead of when the
// client's timer happened to fire. A destination's cover answer runs on the same clock
// (coverclock.ts), so both directions of every circuit are timed by relay code alike, whether it
// carries cover or a call, whatever browser or timer the client has; and a signalling message of
// several cells leaves one cell per slot like media.
//
// The clock is locked to the client's arrivals, then holds its phase like a crystal. For its first
// SETTLE_SLOTS it moves its phase SETTLE_STEP ms a slot so that the least wait of the last
// LEAD_WINDOW cells that found the queue empty lies between LEAD_MIN and LEAD_MAX ms (after the
// client's timer jitter). After that the phase stays put: a cell that misses its slot moves it
// MISS_STEP later once, and a least wait above LEAD_MAX pulls it earlier by DRIFT_STEP a slot (a
// client clock running fast, or a busy spell of the client's over: at 0.005 ms a slot a loaded box
// kept calls waiting most of a slot at each end for half a minute after one). A phase that
// followed the client's jitter all along made a call's two directions wander against each other,
// which a curious hop told from cover's steady answer (forward-to-backward delay spread 5.7 ms
// against 4.3 ms).
import { fragmentCount } from './relaymsg.ts';
import { SLOT_MS, SlotTimer } from './slottimer.ts';

/** The least a cell should wait for its slot (the client's timer jitter still lands before it). */
const LEAD_MIN = 1.5;
const LEAD_MAX = 5;
/** Arrivals the lock looks back on. */
const LEAD_WINDOW = 25;
/** Slots of settling after the clock starts, and the phase step per slot meanwhile. */
const SETTLE_SLOTS = 50;
const SETTLE_STEP = 0.2;
/** Later by this much when a cell misses its slot (after settling). */
const MISS_STEP = 1;
/** Earlier by this much a slot while every recent cell waits more than LEAD_MAX (after settling). */
const DRIFT_STEP = 0.02;
/** A cell that finds the queue empty this soon after a slot passed unused goes at once. */
const LATE_GRACE = SLOT_MS / 2;
/** A backlog beyond this many cells is drained faster (a burst the client made, or a stall). */
const BACKLOG = 2;
/**
 * Slots that went by empty while the client was sending (its timer or page stalled, or ours) are
 * owed, at most DEBT_MAX, and paid back one extra cell per slot once cells wait: a client that sends
 * 3 at once after a 60 ms stall would otherwise leave 2 cells (40 ms) waiting for the rest of the
 * call. The cover clock pays its skipped slots the same way. Forgotten after DEBT_FORGET_SLOTS
 * slots without one owed.
 */
const DEBT_MAX = 25;
const DEBT_FORGET_SLOTS = 50;
/** Slots in a row that leave a cell waiting before one extra goes (the client runs ahead of us). */
const BEHIND_SLOTS = 10;
/** Without a cell for this long (and nothing queued) the clock stops; the next cell restarts it. */
const QUIET_MS = 200;
/** Cells waiting at most in one clock (3 of the largest messages); beyond, new ones are dropped. */
export const WIRE_QUEUE_MAX = 1024;
/** Cells waiting at most in all the clocks of one relay (~5 MB with their closures). */
export const WIRE_BUDGET_CELLS = 16_384;

/** The cells all of one relay's wire clocks hold (shared, so many tunnels cannot add up). */
export interface WireBudget {
  used: number;
  max: number;
}
export const newWireBudget = (): WireBudget => ({ used: 0, max: WIRE_BUDGET_CELLS });

/** What a relay counts of its wire clocks (OnionStats): cells dropped, cells sent and their waits. */
export interface WireStats {
  wireCellsDropped: number;
  wireCellsSent: number;
  /** The waits of the cells sent, summed (ms): what the clocks add to a call's delay. */
  wireWaitMs: number;
}
const noStats = (): WireStats => ({ wireCellsDropped: 0, wireCellsSent: 0, wireWaitMs: 0 });

export class WireClock {
  private readonly queue: (() => void)[] = [];
  /** When each queued cell came (performance.now()), for the wait it is counted with. */
  private readonly arrived: number[] = [];
  private readonly timer = new SlotTimer((skipped) => this.slot(skipped));
  private readonly leads: number[] = [];
  private lastIn = 0;
  /** Slots run since the clock started (settling while under SETTLE_SLOTS). */
  private slots = 0;
  /** A slot went by with nothing to send at this time (0: none, or the grace is used). */
  private missedAt = 0;
  /** Slots owed (see DEBT_MAX), and slots since one was last owed. */
  private debt = 0;
  private sinceDebt = 0;
  /** Slots in a row that left a cell waiting. */
  private behind = 0;
  private stopped = false;

  /** `stats`: where drops, cells sent and their waits are counted (the relay's OnionStats). */
  constructor(
    private readonly stats: WireStats = noStats(),
    private readonly budget: WireBudget = newWireBudget(),
  ) {}

  /** Cells queued for their slots. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Run `fn` at the slot after the cells now waiting (a DESTROY behind the END before it). Not a
   * cell: never dropped for the queue's or the budget's bounds, so a full clock cannot keep a
   * circuit alive; one per circuit at most, so it cannot grow them either.
   */
  after(fn: () => void): void {
    if (this.stopped) return;
    this.budget.used++;
    this.queue.push(fn);
    this.arrived.push(performance.now());
  }

  /** One cell to put on the wire: `send` sends it (it is called once, in order, at its slot). */
  push(send: () => void): void {
    if (this.stopped) return;
    const now = performance.now();
    this.lastIn = now;
    if (!this.timer.running) {
      this.leads.length = 0;
      this.missedAt = 0;
      this.slots = 0;
      this.debt = 0;
      this.timer.start(now + (LEAD_MIN + LEAD_MAX) / 2);
    } else if (this.queue.length === 0) {
      if (this.missedAt && now - this.missedAt < LATE_GRACE) {
        // Its slot went by a moment ago: go now, and move the phase later.
        this.lead(this.missedAt - now);
        this.missedAt = 0;
        this.debt = Math.max(0, this.debt - 1); // that slot is paid now
        if (this.slots >= SETTLE_SLOTS) this.shift(MISS_STEP);
        this.stats.wireCellsSent++;
        send();
        return;
      }
      this.lead(this.timer.nextAt() - now);
    }
    if (this.queue.length >= WIRE_QUEUE_MAX || this.budget.used >= this.budget.max) {
      this.stats.wireCellsDropped++;
      return;
    }
    this.budget.used++;
    this.queue.push(send);
    this.arrived.push(now);
  }

  private lead(ms: number): void {
    this.leads.push(ms);
    if (this.leads.length > LEAD_WINDOW) this.leads.shift();
  }

  private slot(skipped: number): boolean {
    if (this.stopped) return false;
    const now = performance.now();
    if (skipped > 0) this.owe(skipped);
    if (this.queue.length === 0) {
      if (skipped === 0 && now - this.lastIn > QUIET_MS) return false;
      this.missedAt = now;
      this.owe(1);
      return true;
    }
    this.missedAt = 0;
    if (++this.sinceDebt > DEBT_FORGET_SLOTS) this.debt = 0;
    // One cell a slot, one more while slots are owed; a backlog beyond BACKLOG (a flood) drains a
    // quarter a slot.
    const backlog = this.queue.length - 1;
    let extra = backlog > BACKLOG ? Math.ceil((backlog - BACKLOG) / 4) : 0;
    // A cell left waiting after every one of the last BEHIND_SLOTS slots: the client runs ahead of
    // us (its audio clock is faster, or a burst it never paid back). Without this a backlog of one or
    // two stayed for the rest of the call: the call's round trip read 57-70 ms against 5-18 ms.
    this.behind = backlog > 0 ? this.behind + 1 : 0;
    if (extra === 0 && backlog > 0 && (this.debt > 0 || this.behind >= BEHIND_SLOTS)) {
      if (this.debt > 0) this.debt--;
      this.behind = 0;
      extra = 1;
    }
    for (let i = 0; i <= extra && this.queue.length; i++) {
      this.budget.used--;
      this.stats.wireCellsSent++;
      this.stats.wireWaitMs += now - this.arrived.shift()!;
      this.queue.shift()!();
    }
    this.slots++;
    if (this.leads.length) {
      const least = Math.min(...this.leads);
      if (this.slots < SETTLE_SLOTS)
        this.shift(least < LEAD_MIN ? SETTLE_STEP : least > LEAD_MAX ? -SETTLE_STEP : 0);
      else if (least > LEAD_MAX) this.shift(-DRIFT_STEP);
    }
    return true;
  }

  private owe(slots: number): void {
    this.debt = Math.min(DEBT_MAX, this.debt + slots);
    this.sinceDebt = 0;
  }

  /**
   * One message of `bytes` bytes: `start(go)` is called when its first cell's slot comes and must
   * hand over one sender per cell (its circuit's `send` with `go` as the pace, which fragments it
   * there). The circuit is chosen then, not now: a message that waited across a round boundary
   * goes on the new circuit, and no cell waits for a retired circuit that may have gone meanwhile.
   */
  pushMessage(bytes: number, start: (go: (send: () => void) => void) => void): void {
    let senders: (() => void)[] | undefined;
    const cells = fragmentCount(bytes);
    for (let i = 0; i < cells; i++)
      this.push(() => {
        if (!senders) {
          const got: (() => void)[] = [];
          start((send) => got.push(send));
          senders = got;
        }
        senders[i]?.();
      });
  }

  /** Move every later slot by `ms`; the waits seen so far are as they would be now. */
  private shift(ms: number): void {
    if (ms === 0) return;
    this.timer.shift(ms);
    for (let i = 0; i < this.leads.length; i++) this.leads[i]! += ms;
  }

  stop(): void {
    this.stopped = true;
    this.timer.stop();
    this.budget.used -= this.queue.length;
    this.queue.length = 0;
    this.arrived.length = 0;
  }
}
