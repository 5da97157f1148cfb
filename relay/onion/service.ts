// The Onion API (560-566) on top of the tunnels: BUILD -> READY/ERROR, DATA both ways, DESTROY,
// COVER through the round's cover tunnel, INCOMING from the inbound side, and the round clock.
import { randomInt } from 'node:crypto';
import { parseHostkey } from './keycache.ts';
import { type ApiConnection, type ApiHandler, ApiViolation } from '../api/types.ts';
import type { Ingress } from '../ingress.ts';
import { type ApiMessage, MessageType } from '../../shared/wire/types.ts';
import { RelayCmd } from './cell.ts';
import type { Inbound } from './inbound.ts';
import type { HopPeer } from './origin.ts';
import { type OutContext, OutTunnel } from './outbound.ts';
import { drawPeer } from './paths.ts';
import { RoundClock } from './rounds.ts';
import { SLOT_MS, SlotTimer } from './slottimer.ts';
import { WireClock } from './wireclock.ts';
import { CALL_DATA_SIZE } from '../../shared/call-packet.ts';

interface ConnState {
  /** Tunnels this connection built (pending or READY). */
  own: Set<OutTunnel>;
  /** IDs announced to it with READY and not destroyed: COVER is illegal while any exist. */
  ready: Set<number>;
  /**
   * READY IDs the client has not yet named in a DATA or DESTROY. A client keeps its COVER going
   * while its BUILD waits (up to a round with build_in_slot), so a COVER it sent before our READY
   * reached it crosses that READY: such COVER is dropped, not a violation. Subset of `ready`.
   */
  unseen: Set<number>;
}

export interface ServiceOptions {
  out: OutContext;
  roundMs: number;
  coverTunnel: boolean;
  /** A cover answer's phase is drawn anew about once in this many rounds (~5 min at 10 s rounds). */
  coverPhaseRounds?: number;
  maxTunnelsPerConnection: number;
  /**
   * A BUILD that arrives while the cover tunnel runs waits for the round's one build slot and takes
   * it instead of the cover build; its READY waits for the boundary (issue 15 point 2).
   */
  buildInSlot?: boolean;
  /**
   * While no API client sends COVER or holds a tunnel of its own (no page open, or a page that is
   * not running), the relay sends the cover a page would: one call packet per 20 ms slot through the
   * round's cover tunnel. Without it an observer of the relay's links saw whether its user was
   * online (the cover circuit carried nothing), and the destination of that silent circuit answered
   * only from the boundary until its quiet time ran out (a 200 ms burst an observer could time).
   */
  relayCover?: boolean;
}

/**
 * A relay covers for its clients once their COVER has been missing this long: 8 slots, under the
 * 200 ms after which the cover stream's wire clock and its destination's answer stop (so both run
 * on through the handover), and longer than a running page's timer usually stalls (cells it sends
 * late would come on top of ours and leave as a burst).
 */
export const RELAY_COVER_AFTER_MS = 8 * SLOT_MS;

export class OnionService implements ApiHandler {
  readonly accepts = new Set<number>([
    MessageType.ONION_TUNNEL_BUILD,
    MessageType.ONION_TUNNEL_DESTROY,
    MessageType.ONION_TUNNEL_DATA,
    MessageType.ONION_COVER,
  ]);
  /** Voice DATA that waited too long in a busy relay's input queue is dropped (best effort). */
  readonly sheddable = new Set<number>([MessageType.ONION_TUNNEL_DATA]);
  ingress: Ingress | undefined;
  readonly out = new Map<number, OutTunnel>();
  private readonly conns = new Map<ApiConnection, ConnState>();
  private readonly usedIds = new Set<number>();
  cover: OutTunnel | undefined;
  private nextCover: OutTunnel | undefined;
  /** The phase our cover's answers keep (buildCover), and whether a tunnel of ours ran since. */
  private coverPhase = randomInt(256);
  private hadTunnel = false;
  /**
   * The cover stream's wire clock (wire_clock = relay), kept from one round's cover tunnel to the
   * next as a call's tunnel keeps its own: a clock new each round started at a phase of its own and
   * settled in the round's first second, which told a first hop cover from a call (its
   * forward-to-backward delay spread 4.0 ms against 2.4 ms for calls, onion-curious-hop.test.ts).
   */
  private readonly coverWire: WireClock | undefined;
  private readonly clock: RoundClock;
  inbound!: Inbound;
  private stopped = false;
  private readonly spreadMs: number;
  /** Held BUILDs (build_in_slot), oldest first: each takes one round's build slot. */
  private readonly slotWaiters: (() => boolean)[] = [];
  /** Resolved at the next boundary. */
  private boundaryWaiters: (() => void)[] = [];
  /** The relay's own cover (relay_cover), and when a client last sent COVER (performance.now()). */
  private readonly relayCover: SlotTimer | undefined;
  private lastClientCover = -Infinity;

  constructor(private readonly opts: ServiceOptions) {
    // Next-round circuits are built in the window [boundary - lead, boundary - lead/2], each at its own
    // random moment: peers and tunnels do not all build at once, and each build (bounded by the build
    // timeout) normally ends well before the boundary.
    const lead = Math.min(opts.roundMs / 2, 2 * (opts.out.buildTimeoutMs + 1000));
    this.spreadMs = lead / 2;
    const out = opts.out;
    if (out.wireClock) this.coverWire = new WireClock(out.origin.stats, out.wireBudget);
    if (opts.relayCover && opts.coverTunnel) this.relayCover = new SlotTimer(() => this.coverForClient());
    this.clock = new RoundClock(opts.roundMs, lead, {
      prebuild: (b) => this.prebuild(b),
      boundary: () => this.boundary(),
    });
  }

  start(): void {
    this.clock.start();
    if (this.opts.coverTunnel) this.firstCover();
    this.relayCover?.start(performance.now() + SLOT_MS);
  }

  /** One slot of relay cover: a call packet's cover unless a client sends its own or has a tunnel. */
  private coverForClient(): boolean {
    if (this.stopped) return false;
    if (performance.now() - this.lastClientCover < RELAY_COVER_AFTER_MS) return true;
    for (const st of this.conns.values()) if (st.own.size > 0) return true;
    this.sendCover(CALL_DATA_SIZE);
    return true;
  }

  /** The first cover tunnel; retried until one exists (RPS may know no peers yet). */
  private firstCover(): void {
    void this.buildCover().then((t) => {
      if (t) this.installCover(t);
      else if (!this.stopped && !this.cover) {
        setTimeout(() => this.firstCover(), Math.min(this.opts.roundMs / 2, 5000)).unref();
      }
    });
  }

  allocTunnelId = (): number => {
    for (;;) {
      const id = randomInt(1, 0xffffffff);
      if (!this.usedIds.has(id)) {
        this.usedIds.add(id);
        return id;
      }
    }
  };

  releaseTunnelId = (id: number): void => {
    this.usedIds.delete(id);
  };

  onConnect(conn: ApiConnection): void {
    this.conns.set(conn, { own: new Set(), ready: new Set(), unseen: new Set() });
  }

  onDisconnect(conn: ApiConnection): void {
    const st = this.conns.get(conn);
    this.conns.delete(conn);
    for (const t of st?.own ?? []) this.endOut(t, 'API connection closed');
    for (const t of [...this.inbound.tunnels.values()]) this.inbound.release(conn, t.id);
  }

  connections(): ApiConnection[] {
    return [...this.conns.keys()];
  }

  onMessage(conn: ApiConnection, msg: ApiMessage): void {
    const st = this.conns.get(conn);
    if (!st) return;
    switch (msg.type) {
      case MessageType.ONION_TUNNEL_BUILD:
        return void this.build(conn, st, msg.address, msg.port, msg.hostkey);
      case MessageType.ONION_TUNNEL_DATA: {
        st.unseen.delete(msg.tunnelId);
        const t = this.out.get(msg.tunnelId);
        if (t && st.own.has(t)) {
          t.send(msg.data);
          return;
        }
        if (!this.inbound.send(conn, msg.tunnelId, msg.data)) this.error(conn, 564, msg.tunnelId);
        return;
      }
      case MessageType.ONION_TUNNEL_DESTROY: {
        st.unseen.delete(msg.tunnelId);
        const t = this.out.get(msg.tunnelId);
        if (t && st.own.has(t)) {
          if (this.lingerAsCover(t)) return;
          this.endOut(t, 'destroyed by client');
          return;
        }
        if (!this.inbound.release(conn, msg.tunnelId)) this.error(conn, 563, msg.tunnelId);
        return;
      }
      case MessageType.ONION_COVER:
        this.lastClientCover = performance.now();
        if (st.ready.size > st.unseen.size)
          throw new ApiViolation('ONION COVER while holding a READY tunnel');
        if (st.ready.size === 0) this.sendCover(msg.coverSize);
        // else: it crossed our READY on the way (see ConnState.unseen); the client stops now.
        return;
      default:
        throw new ApiViolation(`type ${msg.type} not handled by onion`);
    }
  }

  private error(conn: ApiConnection, requestType: number, tunnelId: number): void {
    conn.send({ type: MessageType.ONION_ERROR, requestType, tunnelId });
  }

  private async build(
    conn: ApiConnection,
    st: ConnState,
    host: string,
    port: number,
    der: Uint8Array,
  ): Promise<void> {
    let dest: HopPeer;
    try {
      const k = parseHostkey(der);
      dest = { host, port, der: k.spki, identity: k.identity, idHex: k.idHex };
    } catch {
      return this.error(conn, 560, 0);
    }
    if (
      st.own.size >= this.opts.maxTunnelsPerConnection ||
      dest.idHex === this.opts.out.selfId ||
      port === 0
    ) {
      return this.error(conn, 560, 0);
    }
    const id = this.allocTunnelId();
    const t = new OutTunnel(this.opts.out, id, dest, false, {
      onData: (data) => conn.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: id, data }),
      onEnded: () => {
        if (this.forget(t)) this.error(conn, 564, id);
      },
    });
    st.own.add(t);
    this.out.set(id, t);
    this.hadTunnel = true;
    const held = !!this.opts.buildInSlot && this.opts.coverTunnel && !!this.cover;
    if (held) {
      // Built where the cover build would have been: in this round's random build slot (or the
      // next round's if it has passed), instead of it. Until then the cover tunnel runs on.
      await new Promise<void>((resolve) =>
        this.slotWaiters.push(() => {
          if (t.closed) return false; // gone while held: the slot goes to the next in line
          resolve();
          return true;
        }),
      );
      if (t.closed) return;
    }
    try {
      await t.open();
    } catch (e) {
      this.opts.out.log.debug(`BUILD to ${host}:${port} failed: ${(e as Error).message}`);
      this.forget(t);
      t.close('build failed');
      if (!conn.closed) this.error(conn, 560, 0);
      return;
    }
    if (t.closed || conn.closed) return this.endOut(t, 'client gone');
    if (held) {
      // READY at the boundary, when a cover tunnel's new circuit would take over: the old cover
      // circuit is retired exactly as in an idle round, and the call's circuit carries on.
      await new Promise<void>((resolve) => this.boundaryWaiters.push(resolve));
      if (t.closed || conn.closed) return this.endOut(t, 'client gone');
      t.current?.send(RelayCmd.PADDING, new Uint8Array(0));
      const c = this.cover;
      this.cover = undefined;
      if (c?.current) c.retire(c.current);
    }
    st.ready.add(id);
    st.unseen.add(id);
    conn.send({ type: MessageType.ONION_TUNNEL_READY, tunnelId: id, hostkey: dest.der });
  }

  /**
   * With build_in_slot, the call's end must not leave the links silent until the next boundary (the
   * cover circuit was retired when the call began): the last own tunnel, destroyed mid-round, keeps
   * its circuit as the cover tunnel until the boundary, where the round's new cover circuit takes
   * over as in any idle round. The client's COVER flows on it meanwhile; its destination answers on
   * its own clock. No END: the call's end was said end to end, and the circuit goes after the grace.
   */
  private lingerAsCover(t: OutTunnel): boolean {
    if (!this.opts.buildInSlot || !this.opts.coverTunnel || this.cover || !t.current || this.out.size > 1)
      return false;
    this.forget(t);
    t.lingering = true;
    this.cover = t;
    return true;
  }

  /** Drop a tunnel from the tables; false if it was already gone. */
  private forget(t: OutTunnel): boolean {
    if (!this.out.delete(t.id)) return false;
    this.releaseTunnelId(t.id);
    for (const st of this.conns.values()) {
      st.own.delete(t);
      st.ready.delete(t.id);
      st.unseen.delete(t.id);
    }
    return true;
  }

  private endOut(t: OutTunnel, reason: string): void {
    this.forget(t);
    t.close(reason);
  }

  private prebuild(boundary: number): void {
    const later = (fn: () => void) => setTimeout(fn, Math.random() * this.spreadMs).unref();
    // Only tunnels already carrying a circuit: a held BUILD is built in this round's slot for this boundary.
    for (const t of this.out.values()) if (t.current) later(() => void t.prepareNext(boundary));
    if (!this.opts.coverTunnel) return;
    // One new circuit per round on our links, calling or not. While tunnels of our own are rebuilt
    // for this round, the cover tunnel (unused then: COVER is refused while a tunnel is READY) keeps
    // its circuit instead of building another, so an observer counting builds per round sees the
    // same number idle and in a call; it is there at once when the call ends. With build_in_slot
    // a held BUILD takes this slot instead, and no cover is built while own tunnels run.
    // Decided when the slot comes, not now: a call that ends in between (its tunnel then lingers as
    // cover and builds no next circuit) leaves the slot to the cover build.
    later(() => {
      while (this.slotWaiters.length > 0) if (this.slotWaiters.shift()!()) return;
      if (this.out.size > 0 && (this.cover || this.opts.buildInSlot)) return;
      if (this.cover?.lingering && this.cover.renewing) return; // the call's next circuit took the slot
      void this.buildCover().then((c) => {
        if (Date.now() >= boundary) return this.installCover(c); // late: switch at once
        this.nextCover?.close('replaced');
        this.nextCover = c;
      });
    });
  }

  private boundary(): void {
    for (const t of this.out.values()) t.switchover();
    // A call that ended after its next circuit was built: that circuit takes over, as in any round.
    if (this.cover?.lingering) this.cover.switchover();
    this.inbound.onBoundary();
    if (this.nextCover) this.installCover(this.nextCover);
    this.nextCover = undefined;
    for (const w of this.boundaryWaiters.splice(0)) w();
  }

  private installCover(t: OutTunnel | undefined): void {
    if (!t) return;
    if (this.stopped) {
      t.close('stopping');
      return;
    }
    const prev = this.cover;
    this.cover = t;
    // Its first cell says "new circuit" as a real tunnel's PADDING does at every boundary, so no
    // boundary tells a real tunnel from cover to its hops by an extra cell.
    t.current?.send(RelayCmd.PADDING, new Uint8Array(0));
    if (prev?.current) prev.retire(prev.current);
  }

  /** A cover tunnel to a random destination; never announced at either end. */
  private async buildCover(): Promise<OutTunnel | undefined> {
    const ctx = this.opts.out;
    const dest = await drawPeer(ctx, new Set());
    if (!dest || this.stopped) return undefined;
    // The answer's phase against our cover stream stays the same from round to round, as a call's
    // two clocks keep theirs for the whole call (a guard sees every round's circuit: a phase new
    // each round was cover, one that stayed was a call); it changes now and then, as calls end,
    // and after each call of ours (cover coming back at its old phase would mark the call between).
    if (this.hadTunnel || Math.random() < 1 / (this.opts.coverPhaseRounds ?? 30)) {
      this.coverPhase = randomInt(256);
      this.hadTunnel = this.out.size > 0;
    }
    const t: OutTunnel = new OutTunnel(ctx, 0, dest, true, {
      onData: () => {},
      // A lost cover circuit: forget it, so the next round builds one even while a call runs.
      onEnded: () => {
        if (this.cover === t) this.cover = undefined;
      },
    });
    t.coverPhase = this.coverPhase;
    try {
      await t.open();
      return t;
    } catch (e) {
      ctx.log.debug(`cover tunnel to ${dest.host}:${dest.port} failed: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** COVER from a client, on the cover stream's clock, through whichever cover tunnel is current then. */
  private sendCover(size: number): void {
    const t = this.cover;
    if (!t) return;
    // A call's tunnel lingering as cover until the boundary goes on with the call's own clock.
    if (!this.coverWire || t.pacesItself) t.sendCover(size);
    else this.coverWire.pushMessage(size, (go) => this.cover?.sendCover(size, go));
  }

  stop(): void {
    this.stopped = true;
    this.relayCover?.stop();
    this.coverWire?.stop();
    this.clock.stop();
    for (const t of [...this.out.values()]) this.endOut(t, 'stopping');
    this.cover?.close('stopping');
    this.nextCover?.close('stopping');
  }
}
