// One stream's slot clock (CallPacing in streams.ts decides which streams run and what fills them).
// Cover traffic: one packet of a call packet's size every 20 ms, in every phase, so the links of an
// idle peer look like those of a calling one. Idle, the packet is ONION COVER (the onion echoes it
// back from a random destination, as the callee's media would come back); while a call holds a
// tunnel it is the call's own media or signalling, or a filler frame through the tunnel when the
// call has nothing to send (ringing, before the voice starts, after hang-up until the DESTROY).
//
// Pacing is drift-free (counted from the start time), and a late timer never bursts more than a
// few packets: a burst would itself be a tell. Browsers throttle timers in background tabs, so
// `workerTicker` runs the clock in a dedicated worker, which is not throttled that way.
import { CALL_DATA_SIZE } from '../../../../shared/call-packet.ts';

/** One call packet's ONION TUNNEL DATA body (shared/call-packet.ts: a relay's own cover has it too). */
export { CALL_DATA_SIZE };

export type Ticker = (cb: () => void, intervalMs: number) => () => void;

export const timerTicker: Ticker = (cb, ms) => {
  const id = setInterval(cb, ms);
  return () => clearInterval(id);
};

/** Ticks from a dedicated worker (falls back to timers if workers or Blob URLs are unavailable). */
export const workerTicker: Ticker = (cb, ms) => {
  try {
    const src = `setInterval(() => postMessage(0), ${Number(ms)});`;
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const w = new Worker(url);
    w.onmessage = cb;
    return () => {
      w.terminate();
      URL.revokeObjectURL(url);
    };
  } catch {
    return timerTicker(cb, ms);
  }
};

export interface CoverSenderOptions {
  /** Sends ONION COVER with this cover size (the call layer's / bridge's job). */
  sendCover: (coverSize: number) => void;
  /** Checked before every cover packet: false while a tunnel is being built or is READY (spec 4.6.7). */
  allowed?: () => boolean;
  /**
   * Sends one filler frame (a call packet's size) through the open tunnel of a call, if there is
   * one; true if it did. Tried before cover: while a call holds a tunnel its slots go there, so
   * the rate holds from READY until media flows and after it stops, until the tunnel is gone.
   */
  fill?: () => boolean;
  /**
   * Onion cells the client sent outside this sender since the last call (media, signalling; not
   * the filler `fill` sent): they use up slots, so the total stays one cell per interval.
   */
  spent?: () => number;
  coverSize?: number;
  intervalMs?: number;
  maxBurst?: number;
  /** Slots sent ahead (a multi-cell frame, media on its own clock) that later slots pay back. */
  maxDebt?: number;
  /** Slots a stall skipped that later ticks pay back, one extra each (at most this many owed). */
  maxOwed?: number;
  ticker?: Ticker;
  now?: () => number;
}

/**
 * One packet per `intervalMs` slot, whatever the client is doing: the call's own packets when
 * they come (counted through `spent`), else filler through the call's tunnel, else ONION COVER.
 */
export class CoverSender {
  private stopTicker: (() => void) | undefined;
  private t0 = 0;
  private due = 0;
  /** Slots owed (1: this slot is unpaid) minus cells sent ahead; in [-maxDebt, 1]. */
  private balance = 0;
  /** Covers sent. */
  sent = 0;
  /** Fillers sent through a call's tunnel. */
  filled = 0;
  /** Slots nothing could be sent in (a BUILD waits for its answer). */
  held = 0;
  skipped = 0;
  /** Skipped slots still to pay back (one extra per tick that is not itself a burst). */
  private owed = 0;
  /** False: no ONION COVER, the call's slots are still paced (tests watch one peer's cover alone). */
  coverOn = true;
  private readonly o: Required<CoverSenderOptions>;

  constructor(opts: CoverSenderOptions) {
    this.o = {
      allowed: () => true,
      fill: () => false,
      spent: () => 0,
      coverSize: CALL_DATA_SIZE,
      intervalMs: 20,
      maxBurst: 3,
      maxDebt: 4,
      maxOwed: 25,
      ticker: timerTicker,
      now: () => performance.now(),
      ...opts,
    };
  }

  get running(): boolean {
    return this.stopTicker !== undefined;
  }

  start(): void {
    if (this.stopTicker) return;
    this.t0 = this.o.now();
    this.due = 0;
    this.balance = 0;
    this.owed = 0;
    this.o.spent();
    // Tick faster than the packet rate so timer jitter does not turn into packet-rate jitter.
    this.stopTicker = this.o.ticker(() => this.tick(), this.o.intervalMs / 2);
  }

  stop(): void {
    this.stopTicker?.();
    this.stopTicker = undefined;
  }

  /** Sends in the current slot now if it is unpaid (e.g. right after a tunnel's DESTROY). */
  kick(): void {
    if (this.stopTicker) this.tick();
  }

  private tick(): void {
    const target = Math.floor((this.o.now() - this.t0) / this.o.intervalMs) + 1;
    let n = target - this.due;
    let burst = false;
    if (n > this.o.maxBurst) {
      // The clock stalled: don't burst; the slots beyond maxBurst are owed and paid back later, one
      // extra per tick, so the rate over a round stays one cell per slot (the relay's wire clock
      // and cover clock pay their own stalls the same way).
      this.skipped += n - this.o.maxBurst;
      this.owed = Math.min(this.o.maxOwed, this.owed + n - this.o.maxBurst);
      this.due += n - this.o.maxBurst;
      n = this.o.maxBurst;
      burst = true;
    }
    this.absorb();
    for (let i = 0; i < n; i++) {
      this.due++;
      this.balance = Math.min(this.balance + 1, 1);
      if (!this.pay()) this.held++;
    }
    // A slot already counted but still unpaid (nothing could go out then) is paid as soon as
    // something can: e.g. the first packet after the BUILD's answer or after a DESTROY.
    if (n === 0) this.pay();
    else if (this.owed > 0 && !burst && this.balance < 1) {
      this.balance++;
      if (this.pay()) this.owed--;
      else this.balance--;
    }
  }

  /** Pays the current slot if it is unpaid; false if it stays unpaid (nothing may be sent). */
  private pay(): boolean {
    if (this.balance < 1) return true;
    // `spent` does not count the filler itself (CallAudio keeps the two apart).
    if (this.o.fill()) {
      this.filled++;
      this.balance--;
      return true;
    }
    if (!this.coverOn || !this.o.allowed()) return false;
    this.o.sendCover(this.o.coverSize);
    this.sent++;
    this.balance--;
    return true;
  }

  private absorb(): void {
    this.balance = Math.max(this.balance - this.o.spent(), -this.o.maxDebt);
  }
}
