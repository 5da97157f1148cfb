// A circuit as its initiator sees it: the first link, one HopLayer per hop, and the telescoping
// build (CREATE to hop 1, then EXTEND through the circuit to each further hop; every hop answers with
// an ntor reply the initiator checks against that hop's certified onion key).
import type { Logger } from '../log.ts';
import { CellCmd, CMD_OFFSET, newCell, PAYLOAD_OFFSET, RelayCmd, setCircId } from './cell.ts';
import { ntorClient, x25519Generate } from './crypto.ts';
import { decodeExtended, encodeExtend } from './extend.ts';
import { TAG_LIMIT, withTimeout } from './hop.ts';
import { HopLayer, originUnwrap, originWrap } from './layers.ts';
import type { Link } from './link.ts';
import type { LinkManager, PeerAddress } from './links.ts';
import { verifyCert } from './onionkey.ts';
import {
  fragment,
  Reassembler,
  type ReassemblyBudget,
  type RelayMessage,
  RelayProtocolError,
} from './relaymsg.ts';
import type { CircuitEnd, Router } from './router.ts';
import type { OnionStats } from './stats.ts';

export interface HopPeer extends PeerAddress {
  der: Uint8Array;
}

export interface OriginContext {
  router: Router;
  links: LinkManager;
  log: Logger;
  stats: OnionStats;
  stepTimeoutMs: number;
  maxMessage: number;
  /** The relay's byte budget for partial messages, shared by all circuits. */
  reassembly?: ReassemblyBudget;
}

interface Waiter {
  hop: number;
  cmds: number[];
  resolve: (m: RelayMessage | null) => void;
}

export class OriginCircuit implements CircuitEnd {
  readonly layers: HopLayer[] = [];
  readonly path: HopPeer[] = [];
  closed = false;
  builtAt = 0;
  /** Messages from the last hop that no build step waits for. */
  onMessage: (msg: RelayMessage) => void = () => {};
  onClose: (reason: string) => void = () => {};
  private readonly reasm: Reassembler[] = [];
  private waiter: Waiter | undefined;
  private createdWaiter: ((cell: Uint8Array | null) => void) | undefined;
  private msgId = 0;
  private macFailures = 0;

  constructor(
    private readonly ctx: OriginContext,
    readonly link: Link,
    readonly circId: number,
  ) {}

  onCell(_link: Link, cell: Uint8Array): void {
    const cmd = cell[CMD_OFFSET];
    if (cmd === CellCmd.DESTROY) {
      this.close('destroyed by the first hop', false);
      return;
    }
    if (cmd === CellCmd.CREATED) {
      this.createdWaiter?.(cell);
      return;
    }
    const j = originUnwrap(this.layers, cell);
    if (j < 0) {
      // No hop's MAC fits: a hop modified or injected it. Past a few, a new circuit (as for a lost one).
      this.ctx.stats.cellsUnrecognized++;
      this.ctx.stats.macFailures++;
      if (++this.macFailures >= TAG_LIMIT) {
        this.ctx.stats.taggedCircuits++;
        this.ctx.log.info(`circuit torn down: ${this.macFailures} cells failed their MAC here (tagging?)`);
        this.close('cells failing their MAC');
      }
      return;
    }
    let msg: RelayMessage | undefined;
    try {
      msg = this.reasm[j]!.push(cell);
    } catch (e) {
      if (e instanceof RelayProtocolError) {
        this.close(`hop ${j}: ${e.message}`);
        return;
      }
      throw e;
    }
    if (!msg) return;
    const w = this.waiter;
    if (w && w.hop === j && w.cmds.includes(msg.cmd)) w.resolve(msg);
    else if (j === this.layers.length - 1) this.onMessage(msg);
  }

  /**
   * Send one relay message to hop `hop` (default: the last). Best effort. `pace`: hand each cell's
   * sending to it (wireclock.ts) instead of sending now; a cell is wrapped when it goes, so cells
   * sent meanwhile keep the layers' order.
   */
  send(cmd: number, data: Uint8Array, hop = this.layers.length - 1, pace?: (go: () => void) => void): void {
    if (this.closed) return;
    for (const cell of fragment(cmd, data, this.msgId++ & 0xffff)) {
      const go = () => {
        if (this.closed) return;
        originWrap(this.layers, hop, cell);
        setCircId(cell, this.circId);
        this.link.send(cell);
      };
      if (pace) pace(go);
      else go();
    }
  }

  /** Wait for the next message of one of `cmds` from hop `hop`; null on timeout or close. */
  expect(hop: number, cmds: number[], timeoutMs: number): Promise<RelayMessage | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (m: RelayMessage | null) => {
        clearTimeout(timer);
        if (this.waiter === w) this.waiter = undefined;
        resolve(m);
      };
      const w: Waiter = { hop, cmds, resolve: done };
      this.waiter?.resolve(null);
      this.waiter = w;
    });
  }

  private addHop(peer: HopPeer, keySeed: Uint8Array): void {
    this.path.push(peer);
    this.layers.push(new HopLayer(keySeed));
    this.reasm.push(new Reassembler(this.ctx.maxMessage, undefined, undefined, this.ctx.reassembly));
  }

  /** CREATE to the first hop (the link's authenticated peer). */
  async create(peer: HopPeer): Promise<void> {
    const eph = x25519Generate();
    const B = this.link.peerCert!.subarray(1, 33);
    const cell = newCell(this.circId, CellCmd.CREATE);
    cell.set(eph.pub, PAYLOAD_OFFSET);
    cell.set(B, PAYLOAD_OFFSET + 32);
    const created = await new Promise<Uint8Array | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), this.ctx.stepTimeoutMs);
      this.createdWaiter = (c) => {
        clearTimeout(timer);
        resolve(c);
      };
      this.link.send(cell);
    });
    this.createdWaiter = undefined;
    if (!created || this.closed) throw new Error('no CREATED from the first hop');
    const p = PAYLOAD_OFFSET;
    const seed = ntorClient(eph, peer.identity, B, created.slice(p, p + 32), created.slice(p + 32, p + 64));
    if (!seed) throw new Error('first hop failed ntor auth');
    this.addHop(peer, seed);
  }

  /** EXTEND to one more hop; false if the current last hop reports EXTEND_FAILED. */
  async extend(peer: HopPeer): Promise<boolean> {
    const eph = x25519Generate();
    const last = this.layers.length - 1;
    const reply = this.expect(last, [RelayCmd.EXTENDED, RelayCmd.EXTEND_FAILED], this.ctx.stepTimeoutMs * 2);
    this.send(RelayCmd.EXTEND, encodeExtend(peer, eph.pub), last);
    const m = await reply;
    if (!m) throw new Error(`no EXTENDED from hop ${last}`);
    if (m.cmd === RelayCmd.EXTEND_FAILED) return false;
    const e = decodeExtended(m.data);
    const cert = e && verifyCert(e.cert, peer.der);
    if (!e || !cert) throw new Error('EXTENDED with a bad cert');
    const seed = ntorClient(eph, peer.identity, cert.onionKey, e.Y, e.auth);
    if (!seed) throw new Error(`hop ${last + 1} failed ntor auth`);
    this.addHop(peer, seed);
    return true;
  }

  close(reason: string, notify = true): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.router.unregister(this.link, this.circId);
    if (notify) this.ctx.router.sendDestroy(this.link, this.circId);
    this.waiter?.resolve(null);
    this.createdWaiter?.(null);
    for (const r of this.reasm) r.clear();
    this.onClose(reason);
  }

  onLinkClosed(): void {
    this.close('link closed', false);
  }
}

/** A build step failed at hop `index` of the path (its link or CREATE for 0, its EXTEND for others). */
export class HopFailure extends Error {
  constructor(
    message: string,
    readonly index: number,
    readonly kind: 'link' | 'create' | 'extend',
  ) {
    super(message);
  }
}

export interface BuildHooks {
  /** Hop `extender` was asked to EXTEND; `ok`: it answered EXTENDED. */
  onExtend?(extender: HopPeer, ok: boolean): void;
}

/**
 * Build a circuit along `path` (the last entry is the destination). A failing hop is not replaced
 * in place (a hop answering EXTEND_FAILED until the next draw suits it could steer the path): the
 * build fails with a HopFailure naming the hop, and the caller starts over with a fresh path.
 */
export async function buildCircuit(
  ctx: OriginContext,
  path: HopPeer[],
  hooks: BuildHooks = {},
): Promise<OriginCircuit> {
  let link: Link;
  try {
    link = await withTimeout(ctx.links.get(path[0]!), ctx.stepTimeoutMs, 'link to first hop');
  } catch (e) {
    ctx.stats.buildFailures++;
    throw new HopFailure((e as Error).message, 0, 'link');
  }
  const circId = ctx.router.allocCircId(link);
  if (circId === null) throw new Error('first link has no free circuit ids');
  const circ = new OriginCircuit(ctx, link, circId);
  ctx.router.register(link, circId, circ);
  let step = 0;
  try {
    await circ.create(path[0]!).catch((e) => {
      throw new HopFailure((e as Error).message, 0, 'create');
    });
    for (step = 1; step < path.length; step++) {
      let ok = false;
      try {
        ok = await circ.extend(path[step]!);
      } finally {
        // No answer counts as a failure too: a hop may stay silent instead of saying EXTEND_FAILED.
        if (!circ.closed) hooks.onExtend?.(path[step - 1]!, ok);
      }
      if (!ok) throw new HopFailure(`hop ${step - 1} could not extend to hop ${step}`, step - 1, 'extend');
    }
  } catch (e) {
    circ.close(`build failed: ${(e as Error).message}`);
    ctx.stats.buildFailures++;
    throw e;
  }
  circ.builtAt = Date.now();
  ctx.stats.circuitsBuilt++;
  return circ;
}
