// The destination side: tunnels that end here. OPEN (real) creates an incoming tunnel announced with
// INCOMING to every API connection. With no API connection the OPEN is answered exactly the same
// (OPENED): the tunnel lives like any other, its data is dropped, and it ends with END after
// `unclaimedMs` as a client ends a tunnel that brought no offer; so an OPEN tells a stranger
// nothing about whether anyone is connected here (issue 14 point 3). RESUME attaches a new round's circuit to the tunnel whose secret
// it proves; COVER is answered on the destination's own clock (coverclock.ts) and never announced. The tunnel's data goes to each API connection
// that has not destroyed it; once all have, the initiator is told (END) and the circuits go.
import type { ApiConnection } from '../api/types.ts';
import type { Logger } from '../log.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { MAX_DATA, RelayCmd } from './cell.ts';
import type { EndpointHooks, HopCircuit } from './hop.ts';
import type { RelayMessage } from './relaymsg.ts';
import type { OnionStats } from './stats.ts';
import { CoverClock } from './coverclock.ts';
import { type WireBudget, WireClock } from './wireclock.ts';

const MAX_SECRETS = 8;

export class InTunnel {
  readonly circuits: HopCircuit[] = [];
  /** Resume secrets of circuits that carried this tunnel (hex), newest last. */
  readonly secrets: string[] = [];
  sendVia: HopCircuit | undefined;
  /** Times our client's cells onto the wire (inbound.ts wireClock). */
  clock: WireClock | undefined;
  orphanTimer: NodeJS.Timeout | undefined;
  unclaimedTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly receivers: Set<ApiConnection>,
  ) {}
}

export interface InboundContext {
  log: Logger;
  stats: OnionStats;
  maxIncoming: number;
  /** How long a tunnel whose circuits all vanished waits for a RESUME. */
  orphanMs: number;
  /** A tunnel opened while no API connection was here ends (END) after this long. */
  unclaimedMs: number;
  /** 'clock': cover answered on our own 20 ms clock; 'echo': each COVER echoed at once (old, leaks). */
  coverReply?: 'clock' | 'echo';
  /** Our client's cells leave on our slot clock (wireclock.ts), not as its messages arrive. */
  wireClock?: boolean;
  /** What all of this relay's wire clocks may hold. */
  wireBudget?: WireBudget;
  connections: () => ApiConnection[];
  allocTunnelId: () => number;
  releaseTunnelId: (id: number) => void;
}

/**
 * Send on `hop` from now on if it is at least as new as the circuit we send on: the initiator moved
 * to it. Never back to an older one: a cell the initiator sent just before the boundary arrives on
 * the round's old circuit after we moved to the new one (onBoundary), and following it sent our
 * next cells on the old circuit until the initiator's first cell on the new one came. A curious hop
 * saw a call's answer then begin up to 40 ms after the boundary, where cover's (coverclock.ts
 * begin) always begins within a slot.
 */
function follow(t: InTunnel, hop: HopCircuit): void {
  if (!t.sendVia || t.circuits.indexOf(hop) >= t.circuits.indexOf(t.sendVia)) t.sendVia = hop;
}

const COVER_ECHO = Symbol('cover echo');
/**
 * A circuit of a tunnel that ended here (our client's DESTROY, or unclaimed). It stays until the
 * initiator destroys it: a call's initiator keeps its circuit carrying cover to the round boundary
 * (service.ts lingerAsCover), and that cover is answered like any cover. Destroying it at once left
 * both ends' links one stream short for the rest of the round after every call.
 */
const ENDED = Symbol('tunnel ended');

export class Inbound implements EndpointHooks {
  readonly tunnels = new Map<number, InTunnel>();
  private readonly bySecret = new Map<string, InTunnel>();
  private readonly lateClocks = new WeakMap<HopCircuit, CoverClock>();
  /** Every cover clock of a circuit still open (retired at each round boundary). */
  private readonly coverClocks = new Set<CoverClock>();

  constructor(private readonly ctx: InboundContext) {}

  onMessage(hop: HopCircuit, msg: RelayMessage): void {
    const t = hop.tunnel instanceof InTunnel ? hop.tunnel : undefined;
    switch (msg.cmd) {
      case RelayCmd.OPEN:
        this.onOpen(hop, msg.data);
        return;
      case RelayCmd.RESUME:
        this.onResume(hop, msg.data);
        return;
      case RelayCmd.DATA:
        if (!t) return;
        if (msg.data.length > MAX_DATA) {
          this.ctx.stats.relayViolations++; // no API message could carry it
          return;
        }
        follow(t, hop);
        this.ctx.stats.dataMessagesIn++;
        for (const c of t.receivers)
          c.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: t.id, data: msg.data });
        return;
      case RelayCmd.COVER:
        this.ctx.stats.coverReceivedBytes += msg.data.length;
        if (hop.tunnel instanceof CoverClock) hop.tunnel.onCover(msg.data);
        else if (hop.tunnel === COVER_ECHO) hop.sendBack(RelayCmd.COVER_ECHO, msg.data);
        else if (t || hop.tunnel === ENDED) this.lateCover(hop, msg.data);
        return;
      case RelayCmd.END:
        if (t) this.end(t, false);
        return;
      case RelayCmd.PADDING:
        if (t) follow(t, hop); // the initiator switched circuits (round boundary or replacement)
        return;
      default:
        return;
    }
  }

  /**
   * COVER on a tunnel's circuit: its initiator's call ended and the circuit carries cover until the
   * round boundary (build_in_slot). Answered like any cover, on a clock of its own.
   */
  private lateCover(hop: HopCircuit, data: Uint8Array): void {
    let c = this.lateClocks.get(hop);
    if (!c) {
      c = this.coverClock(hop);
      this.lateClocks.set(hop, c);
    }
    c.onCover(data);
  }

  private onOpen(hop: HopCircuit, data: Uint8Array): void {
    // kind u8 (0 tunnel, 1 cover), and for cover the phase of our answer's slots (u8, optional).
    if (hop.tunnel !== undefined || data.length < 1 || data.length > (data[0] === 1 ? 2 : 1)) {
      hop.destroy('repeated or bad OPEN');
      return;
    }
    if (data[0] === 1) {
      hop.tunnel = this.ctx.coverReply === 'echo' ? COVER_ECHO : this.coverClock(hop, data[1]);
      hop.sendBack(RelayCmd.OPENED, new Uint8Array(0));
      return;
    }
    // The limit is about this relay's tables, not about anyone being connected: the same either way.
    if (this.tunnels.size >= this.ctx.maxIncoming) {
      hop.sendBack(RelayCmd.REFUSED, new Uint8Array(0));
      return;
    }
    const receivers = new Set(this.ctx.connections().filter((c) => !c.closed));
    const t = new InTunnel(this.ctx.allocTunnelId(), receivers);
    if (this.ctx.wireClock) t.clock = new WireClock(this.ctx.stats, this.ctx.wireBudget);
    this.tunnels.set(t.id, t);
    this.attach(t, hop);
    for (const c of receivers) c.send({ type: MessageType.ONION_TUNNEL_INCOMING, tunnelId: t.id });
    if (receivers.size === 0) {
      // Nobody to deliver to: carry on like a live tunnel nobody answers, then end it as a client
      // ends a tunnel without an offer (DESTROY -> END), not at once (that would be the oracle).
      t.unclaimedTimer = setTimeout(() => this.end(t, true), this.ctx.unclaimedMs);
      t.unclaimedTimer.unref();
    }
    hop.sendBack(RelayCmd.OPENED, new Uint8Array(0));
  }

  private onResume(hop: HopCircuit, secret: Uint8Array): void {
    const t = hop.tunnel === undefined ? this.bySecret.get(Buffer.from(secret).toString('hex')) : undefined;
    if (!t) {
      hop.sendBack(RelayCmd.REFUSED, new Uint8Array(0));
      return;
    }
    clearTimeout(t.orphanTimer);
    this.attach(t, hop);
    hop.sendBack(RelayCmd.OPENED, new Uint8Array(0));
  }

  private attach(t: InTunnel, hop: HopCircuit): void {
    hop.tunnel = t;
    t.circuits.push(hop);
    t.sendVia ??= hop;
    const s = Buffer.from(hop.layer.resumeSecret).toString('hex');
    t.secrets.push(s);
    this.bySecret.set(s, t);
    while (t.secrets.length > MAX_SECRETS) this.bySecret.delete(t.secrets.shift()!);
  }

  private coverClock(hop: HopCircuit, phase?: number): CoverClock {
    const c = new CoverClock((d) => hop.sendBack(RelayCmd.COVER_ECHO, d), phase);
    this.coverClocks.add(c);
    return c;
  }

  /**
   * Round boundary: send on the newest circuit (the initiator switches at the same moment), and
   * stop answering cover on the round's circuits, whose initiators switch too.
   */
  onBoundary(): void {
    for (const t of this.tunnels.values()) t.sendVia = t.circuits[t.circuits.length - 1] ?? t.sendVia;
    // A clock that has run retires; one of a circuit built for this round begins answering now.
    for (const c of this.coverClocks) {
      c.retire();
      c.begin();
    }
  }

  onClosed(hop: HopCircuit): void {
    for (const c of [hop.tunnel, this.lateClocks.get(hop)])
      if (c instanceof CoverClock) {
        c.stop();
        this.coverClocks.delete(c);
      }
    const t = hop.tunnel instanceof InTunnel ? hop.tunnel : undefined;
    if (!t || !this.tunnels.has(t.id)) return;
    const i = t.circuits.indexOf(hop);
    if (i >= 0) t.circuits.splice(i, 1);
    if (t.sendVia === hop) t.sendVia = t.circuits[t.circuits.length - 1];
    if (t.circuits.length === 0) {
      t.orphanTimer = setTimeout(() => this.end(t, false), this.ctx.orphanMs);
      t.orphanTimer.unref();
    }
  }

  /** API DATA from a receiver. false: not a tunnel this connection may use. */
  send(conn: ApiConnection, id: number, data: Uint8Array): boolean {
    const t = this.tunnels.get(id);
    if (!t?.receivers.has(conn)) return false;
    // On the wire clock, on the circuit the initiator uses when its first cell goes (inbound.ts onBoundary).
    if (t.clock) t.clock.pushMessage(data.length, (go) => t.sendVia?.sendBack(RelayCmd.DATA, data, go));
    else t.sendVia?.sendBack(RelayCmd.DATA, data);
    this.ctx.stats.dataMessagesOut++;
    return true;
  }

  /** API DESTROY (or disconnect) by a receiver; the last one ends the tunnel. */
  release(conn: ApiConnection, id: number): boolean {
    const t = this.tunnels.get(id);
    if (!t?.receivers.delete(conn)) return false;
    if (t.receivers.size === 0) this.end(t, true);
    return true;
  }

  end(t: InTunnel, tellInitiator: boolean): void {
    if (!this.tunnels.delete(t.id)) return;
    t.clock?.stop();
    clearTimeout(t.orphanTimer);
    clearTimeout(t.unclaimedTimer);
    for (const s of t.secrets) this.bySecret.delete(s);
    if (tellInitiator) for (const h of t.circuits) h.sendBack(RelayCmd.END, new Uint8Array(0));
    for (const h of [...t.circuits]) {
      // After END the initiator destroys the circuit (at the boundary if it lingers as cover); one
      // that never does is closed by the idle-circuit sweep once nothing comes.
      if (tellInitiator) h.tunnel = ENDED;
      else {
        h.tunnel = undefined;
        h.destroy('tunnel ended');
      }
    }
    this.ctx.releaseTunnelId(t.id);
    this.ctx.log.debug(`incoming tunnel ${t.id} ended`);
  }

  close(): void {
    for (const t of [...this.tunnels.values()]) this.end(t, true);
  }
}
