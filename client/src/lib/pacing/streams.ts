// The one owner of "one cell per 20 ms slot in every state" (issue 15): which stream of this
// client's cells pays each slot, and what fills a slot nothing else paid.
//
// Two kinds of stream, each paced by its own CoverSender (its own clock and phase):
//  - the client's own stream, always running: idle it is ONION COVER through the relay's cover
//    tunnel; while a call we placed holds its tunnel, that tunnel carries the stream instead (the
//    round's one outbound tunnel goes to the callee and carries the call instead of cover): the
//    call's media and signalling pay the slots, filler the rest; COVER only when the onion allows
//    it (`coverAllowed`: no READY tunnel of ours, spec 4.6.7);
//  - one per incoming call, from its answer until its tunnel is gone: the call's own cells pay its
//    slots, filler the rest. The callee's own stream (its cover) keeps running beside it: its links
//    keep the shape they had, and the caller's last hop sending it a circuit's worth of cells is
//    what any cover destination sees.
import { CALL_DATA_SIZE, CoverSender, type CoverSenderOptions, timerTicker } from './pacer.ts';

/** What pacing needs from a call (client/src/lib/calls/session.ts CallSession). */
export interface PacedCall {
  readonly state: string;
  /** 'callee': an incoming call, paced as a stream of its own. Otherwise one we placed. */
  readonly role?: string;
  /** Sends one filler frame of `dataSize` bytes through the call's tunnel; false if none is open. */
  fill?(dataSize: number): boolean;
  /** Onion cells the call has sent so far (its own frames and filler). */
  readonly cellsSent?: number;
}

export interface CallPacingOptions {
  /** Sends ONION COVER with this cover size. */
  sendCover: (coverSize: number) => void;
  /** False while ONION COVER is illegal (BridgeOnionPort.coverAllowed: a READY tunnel is held). */
  coverAllowed: () => boolean;
  /** Options for every pacer (tests: ticker, clock, interval). */
  pacer?: Partial<CoverSenderOptions>;
}

/** States in which a call may still send (an ended one lingers until its tunnel is destroyed). */
export const LIVE_STATES = new Set(['connecting', 'ringing', 'incoming', 'connected']);
/** Calls whose tunnels may still be open (a hung-up call lingers while the next one starts). */
const MAX_TUNNEL_CALLS = 4;

/** Cells a call sent since we last looked, for the stream that owns it. */
class CellCount {
  private seen: number;
  constructor(private readonly call: PacedCall) {
    this.seen = call.cellsSent ?? 0;
  }
  take(): number {
    const now = this.call.cellsSent ?? 0;
    const n = now - this.seen;
    this.seen = now;
    return n;
  }
}

export class CallPacing {
  /** The client's own stream: cover, or the tunnel of a call we placed. */
  readonly own: CoverSender;
  /** Calls we placed that may hold a tunnel, oldest first. */
  private readonly outgoing = new Map<PacedCall, CellCount>();
  /** Cells of outgoing calls let go before `own` counted them. */
  private leftOver = 0;
  /** Incoming calls' streams. */
  private readonly incoming = new Map<PacedCall, CoverSender>();
  private readonly size: number;

  constructor(private readonly o: CallPacingOptions) {
    this.size = o.pacer?.coverSize ?? CALL_DATA_SIZE;
    this.own = new CoverSender({
      sendCover: o.sendCover,
      allowed: o.coverAllowed,
      fill: () => this.fillOutgoing(),
      spent: () => this.spentOutgoing(),
      ...o.pacer,
    });
  }

  start(): void {
    this.own.start();
  }

  stop(): void {
    this.own.stop();
    for (const p of this.incoming.values()) p.stop();
    this.incoming.clear();
    this.outgoing.clear();
  }

  /** Streams running now (the own one, if started, and one per incoming call with a tunnel). */
  get streams(): number {
    return (this.own.running ? 1 : 0) + this.incoming.size;
  }

  /** A call that carries traffic from now on (outgoing at once, incoming from its answer). */
  add(call: PacedCall): void {
    if (!call.fill) return;
    if (call.role === 'callee') {
      this.addIncoming(call);
      return;
    }
    this.outgoing.set(call, new CellCount(call));
    if (this.outgoing.size > MAX_TUNNEL_CALLS) {
      const [old, count] = this.outgoing.entries().next().value!;
      this.leftOver += count.take();
      this.outgoing.delete(old);
    }
  }

  private addIncoming(call: PacedCall): void {
    if (this.incoming.has(call)) return;
    if (this.incoming.size >= MAX_TUNNEL_CALLS) this.dropIncoming(this.incoming.keys().next().value!);
    const count = new CellCount(call);
    const pacer = new CoverSender({
      ...this.o.pacer,
      sendCover: () => {},
      fill: () => {
        if (call.fill!(this.size)) {
          count.take(); // the filler itself: the pacer counted it
          return true;
        }
        if (!LIVE_STATES.has(call.state)) queueMicrotask(() => this.dropIncoming(call));
        return false;
      },
      spent: () => count.take(),
    });
    pacer.coverOn = false; // an incoming call's stream never sends COVER: the own stream does
    this.incoming.set(call, pacer);
    pacer.start();
  }

  private dropIncoming(call: PacedCall): void {
    this.incoming.get(call)?.stop();
    this.incoming.delete(call);
  }

  /** Filler through the newest outgoing call's open tunnel; calls that ended and hold none go. */
  private fillOutgoing(): boolean {
    for (const [call, count] of [...this.outgoing].reverse()) {
      if (call.fill!(this.size)) {
        count.take(); // the pacer counts the filler itself; `spent` must not count it again
        return true;
      }
      if (!LIVE_STATES.has(call.state)) {
        this.leftOver += count.take();
        this.outgoing.delete(call);
      }
    }
    return false;
  }

  private spentOutgoing(): number {
    let n = this.leftOver;
    this.leftOver = 0;
    for (const count of this.outgoing.values()) n += count.take();
    return n;
  }
}

export { CALL_DATA_SIZE, CoverSender, timerTicker };
