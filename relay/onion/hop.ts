// A circuit as one of its hops sees it: a layer of keys, the link towards the initiator (prev) and,
// once extended, the link towards the next hop. Cells from prev lose this hop's layer and go on to
// next unless this hop recognizes them; cells from next gain this hop's layer and go back to prev.
// The last hop (no next) is the tunnel's endpoint: its messages go to the endpoint hooks.
import type { Logger } from '../log.ts';
import { CellCmd, CMD_OFFSET, cellCircId, newCell, PAYLOAD_OFFSET, RelayCmd, setCircId } from './cell.ts';
import { concat } from './crypto.ts';
import { isPrivateAddress } from '../private-address.ts';
import { decodeExtend } from './extend.ts';
import { hopBackward, hopForward, type HopLayer, hopOriginate } from './layers.ts';
import type { Link } from './link.ts';
import type { LinkManager } from './links.ts';
import {
  fragment,
  Reassembler,
  type ReassemblyBudget,
  type RelayMessage,
  RelayProtocolError,
} from './relaymsg.ts';
import type { CircuitEnd, Router } from './router.ts';
import type { OnionStats } from './stats.ts';
import { WireClock, type WireBudget, type WireStats } from './wireclock.ts';

export interface EndpointHooks {
  /** A message for the tunnel endpoint (DATA, COVER, OPEN, RESUME, END, PADDING). */
  onMessage(hop: HopCircuit, msg: RelayMessage): void;
  /** The circuit is gone (destroyed by either side or a link closed). */
  onClosed(hop: HopCircuit): void;
}

/** Test and bench seam (debug.ts): sees every RELAY cell a hop circuit gets, as a curious hop would. */
export interface HopObserver {
  onCell?: (hop: HopCircuit, forward: boolean) => void;
}

export interface HopContext {
  router: Router;
  links: () => LinkManager;
  identity: Uint8Array;
  log: Logger;
  stats: OnionStats;
  stepTimeoutMs: number;
  endpoint: EndpointHooks;
  maxMessage: number;
  /** The relay's byte budget for partial messages, shared by all circuits. */
  reassembly?: ReassemblyBudget;
  /** EXTEND to loopback and private addresses is allowed (testnets, LANs); else EXTEND_FAILED. */
  extendPrivate?: boolean;
  /** The relay is short of CPU: it refuses to become a middle hop (ingress.ts). */
  shortOfCpu?: () => boolean;
  observer?: HopObserver;
  /**
   * Forwarded cells leave on a slot clock per circuit and direction (wireclock.ts), as an
   * endpoint's do (`onion.hop_clock`): every stream on every link then carries one clock's timing
   * whatever role the relay plays for its circuit (issue 15, docs/onion-protocol.md).
   */
  hopClock?: boolean;
  wireBudget?: WireBudget;
  /** Where the hop clocks count their cells and waits (stats.ts hopWireStats). */
  hopWire?: WireStats;
}

/**
 * Cells failing their MAC at a circuit's end after which the end tears the circuit down. Nothing
 * legitimate produces them (cells are never reordered or corrupted on an authenticated TCP link), so
 * they mean a hop modified or injected cells, e.g. to tag the circuit for a colluder further on:
 * dropping them silently let that go unnoticed. A few, not one, so a single stray cell costs nothing.
 */
export const TAG_LIMIT = 3;

export class HopCircuit implements CircuitEnd {
  next: { link: Link; circId: number } | undefined;
  closed = false;
  /** Set by the endpoint when this circuit belongs to a tunnel ending here. */
  tunnel: unknown;
  private extending = false;
  private createdWaiter: ((cell: Uint8Array | null) => void) | undefined;
  private readonly reasm: Reassembler;
  private msgId = 0;
  private macFailures = 0;
  /** performance.now() of the last cell either way (the idle sweep closes long-silent circuits). */
  lastActive = performance.now();
  /** The slot clocks forwarded cells leave on, each way (hop_clock), made at the first cell. */
  private clocks: { fwd?: WireClock; back?: WireClock } = {};

  constructor(
    private readonly ctx: HopContext,
    readonly prevLink: Link,
    readonly prevId: number,
    readonly layer: HopLayer,
  ) {
    this.reasm = new Reassembler(ctx.maxMessage, undefined, undefined, ctx.reassembly);
  }

  onCell(link: Link, cell: Uint8Array): void {
    if (this.closed) return;
    this.lastActive = performance.now();
    const fromPrev = link === this.prevLink && cellCircId(cell) === this.prevId;
    const cmd = cell[CMD_OFFSET];
    if (cmd === CellCmd.DESTROY && !fromPrev && this.createdWaiter) {
      this.createdWaiter(null); // the next hop refused our CREATE: EXTEND_FAILED, circuit stays
    } else if (cmd === CellCmd.DESTROY) {
      const go = () =>
        this.destroy(
          fromPrev ? 'destroyed by initiator side' : 'destroyed by next hop',
          fromPrev ? 'next' : 'prev',
        );
      // Behind the cells still waiting on that way's clock (hop_clock): an initiator's END goes
      // just before its DESTROY, and a destination that lost the circuit without it keeps the
      // tunnel for a switch-over.
      const clock = this.clocks[fromPrev ? 'fwd' : 'back'];
      if (clock && clock.waiting > 0) clock.after(go);
      else go();
    } else if (cmd === CellCmd.CREATED) {
      if (fromPrev || !this.createdWaiter) this.violation('unexpected CREATED');
      else this.createdWaiter(cell);
    } else if (fromPrev) {
      this.ctx.observer?.onCell?.(this, true);
      this.forward(cell);
    } else {
      this.ctx.observer?.onCell?.(this, false);
      hopBackward(this.layer, cell);
      setCircId(cell, this.prevId);
      this.paced('back', () => this.prevLink.send(cell));
      this.ctx.stats.cellsForwarded++;
    }
  }

  /** Send a forwarded cell now, or at its slot on this circuit's clock for that way (hop_clock). */
  private paced(way: 'fwd' | 'back', send: () => void): void {
    if (!this.ctx.hopClock) {
      send();
      return;
    }
    let clock = this.clocks[way];
    if (!clock) {
      clock = new WireClock(this.ctx.hopWire, this.ctx.wireBudget);
      this.clocks[way] = clock;
    }
    clock.push(send); // destroy() stops the clock and drops what waits
  }

  private forward(cell: Uint8Array): void {
    if (!hopForward(this.layer, cell)) {
      const next = this.next;
      if (next) {
        setCircId(cell, next.circId);
        this.paced('fwd', () => next.link.send(cell));
        this.ctx.stats.cellsForwarded++;
      } else {
        this.ctx.stats.cellsUnrecognized++; // corrupted or tagged: drop it, and count it
        this.ctx.stats.macFailures++;
        if (++this.macFailures >= TAG_LIMIT) {
          this.ctx.stats.taggedCircuits++;
          this.ctx.log.info(`circuit torn down: ${this.macFailures} cells failed their MAC here (tagging?)`);
          this.destroy('cells failing their MAC', 'both');
        }
      }
      return;
    }
    let msg: RelayMessage | undefined;
    try {
      msg = this.reasm.push(cell);
    } catch (e) {
      if (e instanceof RelayProtocolError) {
        this.violation(e.message);
        return;
      }
      throw e;
    }
    if (msg) this.onMessage(msg);
  }

  private onMessage(msg: RelayMessage): void {
    if (msg.cmd === RelayCmd.EXTEND) {
      void this.extend(msg.data);
      return;
    }
    const endpointCmds: number[] = [
      RelayCmd.DATA,
      RelayCmd.COVER,
      RelayCmd.OPEN,
      RelayCmd.RESUME,
      RelayCmd.END,
      RelayCmd.PADDING,
    ];
    if (this.next || this.extending || !endpointCmds.includes(msg.cmd)) {
      this.violation(`relay command ${msg.cmd} not allowed here`);
      return;
    }
    this.ctx.endpoint.onMessage(this, msg);
  }

  /**
   * Send a message from this hop back to the initiator. `pace`: hand each cell's sending to it
   * (wireclock.ts); a cell is wrapped when it goes, so cells sent meanwhile keep the layer's order.
   */
  sendBack(cmd: number, data: Uint8Array, pace?: (go: () => void) => void): void {
    if (this.closed) return;
    this.lastActive = performance.now();
    for (const cell of fragment(cmd, data, this.msgId++ & 0xffff)) {
      const go = () => {
        if (this.closed) return;
        hopOriginate(this.layer, cell);
        setCircId(cell, this.prevId);
        this.prevLink.send(cell);
      };
      // Behind the forwarded cells already waiting on the back clock: the layer is a stream cipher,
      // so cells must leave in the order they were sealed.
      const back = this.clocks.back;
      if (pace) pace(go);
      else if (back) back.push(go);
      else go();
    }
  }

  private async extend(payload: Uint8Array): Promise<void> {
    const req = decodeExtend(payload);
    if (!req || this.next || this.extending) {
      this.violation('bad or repeated EXTEND');
      return;
    }
    if (this.ctx.shortOfCpu?.()) {
      // EXTEND is where a hop learns it is not the tunnel's end: refusing here costs nobody a call (the
      // initiator builds through other relays), while refusing CREATE could refuse a destination.
      this.ctx.stats.circuitsRefused++;
      this.destroy('short of CPU: not a middle hop now', 'both');
      return;
    }
    this.extending = true;
    const router = this.ctx.router;
    let next: { link: Link; circId: number } | undefined;
    try {
      if (Buffer.from(req.peer.identity).equals(Buffer.from(this.ctx.identity)))
        throw new Error('extend to self');
      if (!this.ctx.extendPrivate && isPrivateAddress(req.peer.host))
        throw new Error('extend to a private address');
      const link = await withTimeout(this.ctx.links().get(req.peer), this.ctx.stepTimeoutMs, 'link');
      const circId = router.allocCircId(link);
      if (this.closed || circId === null || !link.peerCert) throw new Error('cannot extend now');
      next = { link, circId };
      router.register(link, circId, this);
      const create = newCell(circId, CellCmd.CREATE);
      create.set(req.X, PAYLOAD_OFFSET);
      create.set(link.peerCert.subarray(1, 33), PAYLOAD_OFFSET + 32);
      const created = await new Promise<Uint8Array | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), this.ctx.stepTimeoutMs);
        this.createdWaiter = (c) => {
          // At once, not after the await: a DESTROY right behind the CREATED must tear us down.
          this.createdWaiter = undefined;
          clearTimeout(timer);
          resolve(c);
        };
        link.send(create);
      });
      if (!created || this.closed || link.closed) throw new Error('no CREATED');
      this.next = next;
      const cert = link.peerCert;
      const len = new Uint8Array([cert.length >> 8, cert.length & 0xff]);
      this.sendBack(
        RelayCmd.EXTENDED,
        concat(created.subarray(PAYLOAD_OFFSET, PAYLOAD_OFFSET + 64), len, cert),
      );
    } catch (e) {
      this.ctx.log.debug(`extend to ${req.peer.host}:${req.peer.port} failed: ${(e as Error).message}`);
      if (next) {
        router.unregister(next.link, next.circId);
        router.sendDestroy(next.link, next.circId);
      }
      this.sendBack(RelayCmd.EXTEND_FAILED, new Uint8Array(0));
    } finally {
      this.extending = false;
    }
  }

  private violation(reason: string): void {
    this.ctx.stats.relayViolations++;
    this.ctx.log.debug(`circuit ${this.prevId} on link ${this.prevLink.id}: ${reason}`);
    this.destroy(reason, 'both');
  }

  /** Tear down; tell the sides that did not tell us. */
  destroy(reason: string, notify: 'prev' | 'next' | 'both' | 'none' = 'both'): void {
    if (this.closed) return;
    this.closed = true;
    const router = this.ctx.router;
    router.hopCircuits--;
    router.unregister(this.prevLink, this.prevId);
    if (notify === 'prev' || notify === 'both') router.sendDestroy(this.prevLink, this.prevId);
    if (this.next) {
      router.unregister(this.next.link, this.next.circId);
      if (notify === 'next' || notify === 'both') router.sendDestroy(this.next.link, this.next.circId);
    }
    this.createdWaiter?.(null);
    this.clocks.fwd?.stop();
    this.clocks.back?.stop();
    this.reasm.clear();
    this.ctx.log.debug(`hop circuit ${this.prevId} closed: ${reason}`);
    this.ctx.endpoint.onClosed(this);
  }

  onLinkClosed(link: Link): void {
    if (link !== this.prevLink && this.createdWaiter) {
      this.createdWaiter(null);
      return;
    }
    this.destroy('link closed', link === this.prevLink ? 'next' : 'prev');
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
