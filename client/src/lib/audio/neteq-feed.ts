// Feeding the tunnel's Opus frames to WebRTC's NetEq (issue 17, experiment): a sender looped back
// inside the page produces one encoded frame per 20 ms on its own clock (its RTP timestamps); each
// is paired with the next frame from the tunnel and sent on when that frame has arrived. So NetEq
// sees the tunnel's lateness as arrival jitter against the sender's timestamps, and a lost frame
// as a timestamp gap (which it fills from the next frame's in-band FEC, or conceals). Pure logic,
// no WebRTC here: see neteq.ts for the page side and test/unit/audio-neteq-feed.test.ts.
import { unwrapSeq } from './payload.ts';

export interface NetEqFeedOptions<S> {
  /** Send sender slot `slot` on, carrying `opus` instead of what the sender encoded. */
  emit(slot: S, opus: Uint8Array): void;
  /** Drop sender slot `slot` (never sent: NetEq sees its timestamp missing). */
  drop(slot: S): void;
  /** Sender slots held waiting for a late frame before the frame counts as lost (10 = 200 ms). */
  maxHeld?: number;
  /** Frames that may wait for a sender slot; beyond, the oldest is dropped (drift, bursts). */
  maxQueued?: number;
  /** A missing frame counts as lost once this many later frames arrived (reordering tolerance). */
  reorder?: number;
  /** Clock for the frames' waits (ms; default performance.now). */
  now?: () => number;
}

export interface NetEqFeedStats {
  sent: number;
  /** Frames that never came in time: their slot was dropped (NetEq uses FEC or conceals). */
  lost: number;
  /** Frames that came after their slot was given up. */
  late: number;
  /** Frames dropped because too many waited (the tunnel ran ahead of the sender's clock). */
  overflow: number;
  /**
   * How long frames waited here for a sender slot, ms (moving average over ~50 frames): delay a
   * person hears that NetEq's own figures do not count (it sees a frame only once it is sent on).
   */
  waitMs: number;
}

/** Weight of each new wait in the moving average (~50 frames, a second). */
const WAIT_WEIGHT = 1 / 50;

export class NetEqFeed<S> {
  private readonly queued = new Map<number, { opus: Uint8Array; at: number }>();
  private readonly held: S[] = [];
  private next: number | undefined;
  private newest = -1;
  private readonly maxHeld: number;
  private readonly maxQueued: number;
  private readonly reorder: number;
  readonly stats: NetEqFeedStats = { sent: 0, lost: 0, late: 0, overflow: 0, waitMs: 0 };
  private readonly now: () => number;

  constructor(private readonly o: NetEqFeedOptions<S>) {
    this.maxHeld = o.maxHeld ?? 10;
    this.maxQueued = o.maxQueued ?? 3;
    this.reorder = o.reorder ?? 1;
    this.now = o.now ?? (() => performance.now());
  }

  /** A frame from the tunnel, 16-bit sequence number as on the wire. */
  push(seq16: number, opus: Uint8Array): void {
    const seq = unwrapSeq(seq16, this.newest < 0 ? seq16 : this.newest);
    this.next ??= seq;
    if (seq < this.next) {
      this.stats.late++;
      return;
    }
    if (seq > this.next + 500) this.restart(seq); // a jump of 10 s: the peer restarted its counter
    this.queued.set(seq, { opus, at: this.now() });
    this.newest = Math.max(this.newest, seq);
    this.pump();
    // Frames waiting with no slot to carry them add delay NetEq cannot see: keep it to a few.
    while (this.held.length === 0 && this.queued.size > this.maxQueued) {
      this.queued.delete(this.next);
      this.next++;
      this.stats.overflow++;
      this.pump();
    }
  }

  /** The sender's next 20 ms slot (its encoded frame). */
  slot(s: S): void {
    if (this.next === undefined) {
      this.o.drop(s); // nothing received yet: the stream has not started
      return;
    }
    this.held.push(s);
    if (this.held.length > this.maxHeld) this.giveUp();
    this.pump();
  }

  private pump(): void {
    while (this.held.length > 0 && this.next !== undefined) {
      const q = this.queued.get(this.next);
      if (q) {
        this.queued.delete(this.next);
        this.next++;
        this.stats.sent++;
        const wait = this.now() - q.at;
        this.stats.waitMs += (wait - this.stats.waitMs) * (this.stats.sent === 1 ? 1 : WAIT_WEIGHT);
        this.o.emit(this.held.shift() as S, q.opus);
      } else if (this.newest > this.next + this.reorder) {
        this.giveUp();
      } else return;
    }
  }

  /** The frame for the oldest held slot is lost: its slot is dropped, the next frame takes the next. */
  private giveUp(): void {
    this.o.drop(this.held.shift() as S);
    if (this.next !== undefined) this.queued.delete(this.next++);
    this.stats.lost++;
  }

  private restart(seq: number): void {
    this.queued.clear();
    this.next = seq;
    this.newest = seq;
  }
}
