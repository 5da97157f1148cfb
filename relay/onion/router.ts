// The circuit table: which circuit end a cell arriving on (link, circuit id) belongs to, and the
// CREATE handling that starts a new hop circuit. Circuit ids are local to each link and chosen by
// the side that dials (only the dialling side sends CREATE, so ids never collide).
import { randomInt } from 'node:crypto';
import type { Logger } from '../log.ts';
import { TokenBucket } from '../p2p/ratelimit.ts';
import { CellCmd, CMD_OFFSET, cellCircId, newCell, PAYLOAD_OFFSET } from './cell.ts';
import { ntorServer } from './crypto.ts';
import { HopCircuit, type HopContext } from './hop.ts';
import { HopLayer } from './layers.ts';
import type { Link } from './link.ts';
import type { OnionKeys } from './onionkey.ts';
import type { OnionStats } from './stats.ts';

/** Whatever owns one (link, circuit id): an origin circuit or one side of a hop circuit. */
export interface CircuitEnd {
  onCell(link: Link, cell: Uint8Array): void;
  onLinkClosed(link: Link): void;
}

export interface RouterOptions {
  identity: Uint8Array;
  keys: OnionKeys;
  log: Logger;
  stats: OnionStats;
  maxCircuitsPerLink: number;
  maxHopCircuits: number;
  /** CREATEs a link may send per second (burst: twice that); each costs us an ntor handshake. */
  createsPerSecond: number;
  hop: Omit<HopContext, 'router'>;
}

export class Router {
  private readonly table = new Map<Link, Map<number, CircuitEnd>>();
  private readonly createBuckets = new WeakMap<Link, TokenBucket>();
  hopCircuits = 0;

  constructor(private readonly opts: RouterOptions) {}

  count(link: Link): number {
    return this.table.get(link)?.size ?? 0;
  }

  register(link: Link, circId: number, end: CircuitEnd): void {
    let m = this.table.get(link);
    if (!m) {
      m = new Map();
      this.table.set(link, m);
    }
    m.set(circId, end);
  }

  unregister(link: Link, circId: number): void {
    const m = this.table.get(link);
    m?.delete(circId);
    if (m?.size === 0) this.table.delete(link);
  }

  /** A fresh circuit id for a CREATE we send on this link (null when the link is full). */
  allocCircId(link: Link): number | null {
    if (this.count(link) >= this.opts.maxCircuitsPerLink) return null;
    for (;;) {
      const id = randomInt(1, 0xffffffff);
      if (!this.table.get(link)?.has(id)) return id;
    }
  }

  sendDestroy(link: Link, circId: number): void {
    link.send(newCell(circId, CellCmd.DESTROY));
  }

  onCell(link: Link, cell: Uint8Array): void {
    const cmd = cell[CMD_OFFSET];
    if (cmd === CellCmd.PADDING) return;
    const circId = cellCircId(cell);
    if (circId === 0) {
      link.close(`cell command ${cmd} on circuit 0`);
      return;
    }
    const end = this.table.get(link)?.get(circId);
    if (cmd === CellCmd.CREATE) {
      if (end || link.outbound) link.close('CREATE on a used circuit id or on a link we dialled');
      else this.onCreate(link, circId, cell);
      return;
    }
    if (cmd !== CellCmd.CREATED && cmd !== CellCmd.RELAY && cmd !== CellCmd.DESTROY) {
      link.close(`unknown cell command ${cmd}`);
      return;
    }
    if (!end) {
      this.opts.stats.cellsUnknownCircuit++;
      return; // a circuit that was just torn down
    }
    end.onCell(link, cell);
  }

  private onCreate(link: Link, circId: number, cell: Uint8Array): void {
    let bucket = this.createBuckets.get(link);
    if (!bucket) {
      bucket = new TokenBucket(this.opts.createsPerSecond, 2 * this.opts.createsPerSecond);
      this.createBuckets.set(link, bucket);
    }
    if (
      this.count(link) >= this.opts.maxCircuitsPerLink ||
      this.hopCircuits >= this.opts.maxHopCircuits ||
      !bucket.take()
    ) {
      this.opts.log.debug(`link ${link.id}: circuit or CREATE rate limit reached, refusing CREATE`);
      this.sendDestroy(link, circId);
      return;
    }
    const X = cell.subarray(PAYLOAD_OFFSET, PAYLOAD_OFFSET + 32);
    const B = cell.subarray(PAYLOAD_OFFSET + 32, PAYLOAD_OFFSET + 64);
    const onionKey = this.opts.keys.find(B);
    const r = onionKey ? ntorServer(onionKey, this.opts.identity, X) : null;
    if (!r) {
      this.sendDestroy(link, circId);
      return;
    }
    const hop = new HopCircuit({ ...this.opts.hop, router: this }, link, circId, new HopLayer(r.keySeed));
    this.register(link, circId, hop);
    this.hopCircuits++;
    const reply = newCell(circId, CellCmd.CREATED);
    reply.set(r.Y, PAYLOAD_OFFSET);
    reply.set(r.auth, PAYLOAD_OFFSET + 32);
    link.send(reply);
  }

  /**
   * Close hop circuits that carried nothing either way for `idleMs` (a vanished initiator, a half
   * built circuit, or someone filling max_hop_circuits with circuits it never uses).
   */
  sweepIdle(idleMs: number, now = performance.now()): number {
    const idle = new Set<HopCircuit>();
    for (const m of this.table.values())
      for (const end of m.values())
        if (end instanceof HopCircuit && !end.closed && now - end.lastActive >= idleMs) idle.add(end);
    for (const h of idle) h.destroy(`idle for ${idleMs} ms`, 'both');
    this.opts.stats.idleCircuitsClosed += idle.size;
    return idle.size;
  }

  onLinkClosed(link: Link): void {
    const m = this.table.get(link);
    if (!m) return;
    this.table.delete(link);
    for (const end of new Set(m.values())) end.onLinkClosed(link);
  }
}
