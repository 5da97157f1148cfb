// A tunnel as its initiator sees it: one tunnel ID for the API client, carried by a circuit that is
// replaced every round. The next round's circuit is built before the boundary (fresh hops, same
// destination) and introduced with RESUME, which proves knowledge of the secret shared with the
// destination on the current circuit, so the destination links it to the same tunnel ID and nobody
// else can take the tunnel over. At the boundary traffic switches; old circuits go after a grace.
import { randomBytes } from 'node:crypto';
import { MAX_DATA, RelayCmd } from './cell.ts';
import type { HopPeer, OriginCircuit } from './origin.ts';
import { buildTo, type PathContext, RefusedError } from './paths.ts';
import type { RelayMessage } from './relaymsg.ts';
import { type WireBudget, WireClock } from './wireclock.ts';

export interface OutTunnelEvents {
  onData(data: Uint8Array): void;
  /** The tunnel is gone for good (destination ended it, or no replacement circuit could be built). */
  onEnded(reason: string): void;
}

export interface OutContext extends PathContext {
  buildTimeoutMs: number;
  graceMs: number;
  /** Cells for the client leave on our slot clock (wireclock.ts), not as its messages arrive. */
  wireClock?: boolean;
  /** What all of this relay's wire clocks may hold. */
  wireBudget?: WireBudget;
}

const OPEN_REAL = 0;
const OPEN_COVER = 1;

export class OutTunnel {
  current: OriginCircuit | undefined;
  next: OriginCircuit | undefined;
  private readonly old = new Set<OriginCircuit>();
  private preparing = false;
  /** Its circuit for the next round is built or being built (this round's slot is spent on it). */
  get renewing(): boolean {
    return this.preparing || this.next !== undefined;
  }
  closed = false;
  /** The API client destroyed it, but its circuit carries cover until the boundary (build_in_slot). */
  lingering = false;
  /** A cover tunnel: the phase (0-255) its destination's answer keeps (coverclock.ts), sent in OPEN. */
  coverPhase: number | undefined;
  /** Times the client's cells onto the wire (undefined: sent as they come). */
  private readonly clock: WireClock | undefined;

  constructor(
    private readonly ctx: OutContext,
    readonly id: number,
    readonly dest: HopPeer,
    readonly cover: boolean,
    private readonly events: OutTunnelEvents,
  ) {
    // A cover tunnel has none: the service's cover stream keeps one clock across its rounds' tunnels.
    if (ctx.wireClock && !cover) this.clock = new WireClock(this.ctx.origin.stats, ctx.wireBudget);
  }

  /** Build the first circuit and OPEN the tunnel at the destination; throws on failure. */
  async open(): Promise<void> {
    const deadline = Date.now() + this.ctx.buildTimeoutMs;
    const circ = await buildTo(this.ctx, this.dest, deadline, (c) => this.intro(c, null), this.gone);
    if (this.closed) {
      circ.close('tunnel closed during build');
      throw new Error('tunnel closed during build');
    }
    this.adopt(circ);
    this.current = circ;
  }

  /** Builds stop retrying once the tunnel is closed (e.g. its API connection went away). */
  private readonly gone = () => this.closed;

  private async intro(circ: OriginCircuit, secret: Uint8Array | null): Promise<boolean> {
    if (this.closed) throw new Error('tunnel closed'); // no OPEN for a tunnel nobody holds any more
    // Adopted before RESUME goes out: once the destination attaches this circuit it may send on it at
    // any moment (its boundary, or DATA following), and those cells must not be dropped.
    this.adopt(circ);
    const reply = circ.expect(
      circ.layers.length - 1,
      [RelayCmd.OPENED, RelayCmd.REFUSED],
      this.ctx.origin.stepTimeoutMs,
    );
    if (secret) circ.send(RelayCmd.RESUME, secret);
    else if (this.cover && this.coverPhase !== undefined)
      circ.send(RelayCmd.OPEN, new Uint8Array([OPEN_COVER, this.coverPhase]));
    else circ.send(RelayCmd.OPEN, new Uint8Array([this.cover ? OPEN_COVER : OPEN_REAL]));
    const m = await reply;
    if (!m) throw new Error('no answer to OPEN/RESUME');
    return m.cmd === RelayCmd.OPENED;
  }

  private adopt(circ: OriginCircuit): void {
    circ.onMessage = (m) => this.onMessage(m);
    circ.onClose = () => this.onCircuitClosed(circ);
  }

  private onMessage(m: RelayMessage): void {
    if (this.closed) return;
    if (m.cmd === RelayCmd.DATA && m.data.length > MAX_DATA) this.ctx.origin.stats.relayViolations++;
    else if (m.cmd === RelayCmd.DATA && !this.cover) this.events.onData(m.data);
    else if (m.cmd === RelayCmd.COVER_ECHO) this.ctx.origin.stats.coverEchoedBytes += m.data.length;
    // A lingering tunnel (its call ended here too) carries cover to the boundary whatever the far end says.
    else if (m.cmd === RelayCmd.END && !this.lingering) this.close('ended by the destination', false);
  }

  send(data: Uint8Array): void {
    this.paced(RelayCmd.DATA, data);
  }

  /** On the wire clock, on the circuit that is current when its first cell goes; else now. */
  private paced(cmd: number, data: Uint8Array): void {
    if (this.clock) this.clock.pushMessage(data.length, (go) => this.current?.send(cmd, data, undefined, go));
    else this.current?.send(cmd, data);
  }

  /** True when its cells leave on a wire clock of its own (a real tunnel's). */
  get pacesItself(): boolean {
    return this.clock !== undefined;
  }

  /** One COVER: on `pace` (the cover stream's wire clock) when given, else as `send` goes. */
  sendCover(n: number, pace?: (send: () => void) => void): void {
    if (!this.current) return;
    if (pace) this.current.send(RelayCmd.COVER, randomBytes(n), undefined, pace);
    else this.paced(RelayCmd.COVER, randomBytes(n));
    this.ctx.origin.stats.coverSentBytes += n;
  }

  /**
   * Before `boundary`: build the next round's circuit (new hops) and RESUME the tunnel on it, retrying
   * while the boundary is ahead. A circuit that is only ready after the boundary is switched to at once.
   */
  async prepareNext(boundary: number): Promise<void> {
    // A lingering tunnel (its call ended; service.ts lingerAsCover) carries cover to the boundary
    // only: the destination has let the tunnel go and would refuse a RESUME, closing it.
    if (this.closed || this.preparing || this.next || !this.current || this.cover || this.lingering) return;
    this.preparing = true;
    try {
      while (!this.closed && !this.next && this.current) {
        const secret = this.current.layers[this.current.layers.length - 1]!.resumeSecret;
        try {
          const deadline = Date.now() + this.ctx.buildTimeoutMs;
          const circ = await buildTo(this.ctx, this.dest, deadline, (c) => this.intro(c, secret), this.gone);
          if (this.closed) circ.close('tunnel closed');
          else this.next = circ;
        } catch (e) {
          this.ctx.log.debug(`tunnel ${this.id}: next circuit failed: ${(e as Error).message}`);
          // Refused: the destination no longer knows the tunnel, which is over (the API client is told).
          if (e instanceof RefusedError)
            return this.close('the destination no longer knows the tunnel', false);
          // Past the boundary: the current circuit carries on and the next round tries again.
          if (Date.now() >= boundary) return;
        }
      }
      // The current circuit may have died meanwhile: then the new one takes over at once.
      if (this.next && (Date.now() >= boundary || !this.current)) this.switchover();
    } finally {
      this.preparing = false;
    }
  }

  /**
   * At the boundary: send on the new circuit (make before break: the old one keeps receiving for the
   * grace period). A PADDING message tells the destination at once, even if the data is one-way.
   */
  switchover(): void {
    if (this.closed || !this.next || this.next.closed) return;
    const prev = this.current;
    this.current = this.next;
    this.next = undefined;
    this.current.send(RelayCmd.PADDING, new Uint8Array(0));
    this.ctx.origin.stats.switchovers++;
    if (prev) this.retire(prev);
  }

  /** Keep a circuit for the grace period (late cells still arrive), then destroy it. */
  retire(circ: OriginCircuit): void {
    this.old.add(circ);
    const t = setTimeout(() => {
      this.old.delete(circ);
      circ.close('round over');
    }, this.ctx.graceMs);
    t.unref();
  }

  private onCircuitClosed(circ: OriginCircuit): void {
    this.old.delete(circ);
    if (this.closed) return;
    if (circ === this.next) this.next = undefined;
    if (circ !== this.current) return;
    this.current = undefined;
    if (this.next) {
      this.switchover();
      return;
    }
    if (this.cover || this.lingering) {
      this.close('cover circuit lost', false);
      return;
    }
    // Lost mid-round: build a replacement now and RESUME on it (the destination keeps the tunnel a while).
    const secret = circ.layers[circ.layers.length - 1]!.resumeSecret;
    buildTo(
      this.ctx,
      this.dest,
      Date.now() + this.ctx.buildTimeoutMs,
      (c) => this.intro(c, secret),
      this.gone,
    ).then(
      (c) => {
        if (this.closed) return c.close('tunnel closed');
        // The next round's circuit (prepareNext) may have taken over meanwhile: keep only one.
        if (this.current) return c.close('not needed');
        if (this.next) c.close('not needed');
        else this.next = c;
        this.switchover();
      },
      (e) => this.close(`circuit lost and not replaced: ${(e as Error).message}`, false),
    );
  }

  /** End the tunnel: tell the destination (END) unless it told us, and destroy every circuit. */
  close(reason: string, byUs = true): void {
    if (this.closed) return;
    this.closed = true;
    this.clock?.stop();
    if (byUs) this.current?.send(RelayCmd.END, new Uint8Array(0));
    for (const c of [this.current, this.next, ...this.old]) c?.close(reason);
    this.old.clear();
    this.current = this.next = undefined;
    if (!byUs) this.events.onEnded(reason);
  }
}
