// A link over TCP: the encrypted connection between two onion modules. Everything on it is
// WIRE_CELL_SIZE units; the first are the handshake (in the clear), then records of cells sealed per
// write (linkcrypto.ts), so a unit that is cut, replayed, reordered or forged fails its record's tag
// and the link is closed at once. This file is the transport (socket, framing, handshake, record
// crypto); the credit window and circuit scheduler are in linkflow.ts, for any transport. The router
// only sees the Link interface (a UDP transport could implement it later).
import { connect, type Socket } from 'node:net';
import { identityOfDer } from '../hostkey.ts';
import type { Logger } from '../log.ts';
import { CELL_SIZE, CellCmd, CMD_OFFSET, cellCircId, PAYLOAD_OFFSET, WIRE_CELL_SIZE } from './cell.ts';
import type { Ingress } from '../ingress.ts';
import { ctEqual, hkdf, ntorClient, ntorServer, x25519, x25519Generate } from './crypto.ts';
import { RecordOpener, RecordSealer } from './linkcrypto.ts';
import { LinkFlow } from './linkflow.ts';
import { ACCEPT, decodeAccept, encodeAccept, encodeHandshake, HandshakeReader, HELLO } from './handshake.ts';
import type { OnionKeys } from './onionkey.ts';
import { verifyCert } from './onionkey.ts';
import { linkTap } from './debug.ts';

export interface LinkStats {
  cellsIn: number;
  cellsOut: number;
  dropped: number;
}

export interface Link {
  readonly id: number;
  /** True when we dialled (then the peer is authenticated as peerIdentity). */
  readonly outbound: boolean;
  readonly remote: string;
  /** Hex identity of an outbound link's peer. */
  readonly peerIdentity: string | undefined;
  /** The peer's onion key cert (outbound links), forwarded to initiators in EXTENDED. */
  readonly peerCert: Uint8Array | undefined;
  readonly closed: boolean;
  readonly stats: LinkStats;
  lastUsed: number;
  /** Queue one CELL_SIZE plaintext cell; false if the link is closed. Congestion drops oldest cells per circuit. */
  send(cell: Uint8Array): boolean;
  close(reason: string): void;
  onCell: (cell: Uint8Array) => void;
  onClose: (reason: string) => void;
}

export interface LinkContext {
  identity: Uint8Array;
  der: Uint8Array;
  keys: OnionKeys;
  log: Logger;
  handshakeTimeoutMs: number;
  /** Bytes queued in the socket above which cells wait in per-circuit queues instead; also caps those queues. */
  maxQueuedBytes: number;
  /** Cells each circuit may have waiting on a congested link (oldest dropped beyond). */
  circuitQueueCells: number;
  /** A cell that waited this long on a congested link is dropped (stale voice is useless). */
  circuitQueueMs?: number;
  /** Flow control: cells sent and not yet credited by the peer (the rest waits, oldest dropped). */
  windowCells?: number;
  /** Tests only: credit every this many cells instead of CREDIT_EVERY (both ends must agree). */
  creditEvery?: number;
  /** A partial cell left waiting this long means the peer broke framing. */
  partialCellTimeoutMs: number;
  /** The relay's input queue (cells are handled from it, stale RELAY cells dropped); none: at once. */
  ingress?: Ingress;
}

let nextLinkId = 1;
/**
 * Flow-control window (cells in flight per link, ~245 KB): keeps the kernel's socket buffers (MBs, i.e.
 * seconds of voice) from filling, so congestion shows up in the per-circuit queues, where the oldest
 * cells are dropped, instead of as latency. A link carries at most about window / RTT cells/s: 1024
 * cells at a 100 ms RTT are ~10,000 cells/s, ~100 calls; a window of 128 capped such a link at ~12 calls
 * and made every message of more than 128 cells wait a round trip (and go stale) on it.
 */
export const DEFAULT_WINDOW = 1024;
/**
 * A receiver returns CREDIT for every this many cells it has handled. A protocol constant, not the
 * receiver's window: any window from 2 × CREDIT_EVERY up to MAX_WINDOW then works against any peer (a
 * threshold of half the receiver's own window left a sender with a smaller window waiting for ever).
 * A call's 50 cells/s cost 0.4 CREDIT cells/s back (0.8 % of its bytes).
 */
export const CREDIT_EVERY = 128;
/** The largest window a relay may use (link_window_cells). */
export const MAX_WINDOW = 8192;
/**
 * A peer with more uncredited cells than this in flight ignores flow control: the link is closed. Twice
 * the largest window, as control cells (CREATE, CREATED, DESTROY) may go beyond the window.
 */
const MAX_UNCREDITED = 2 * MAX_WINDOW;
/**
 * Cells that waited longer than this on a congested link are dropped (a late voice frame is useless).
 * Longer than a WAN round trip, so that waiting for CREDIT alone never makes a cell stale.
 */
export const DEFAULT_QUEUE_MS = 250;
const KEY_INFO = 'voidphone link keys v2';

export class TcpLink implements Link {
  readonly id = nextLinkId++;
  readonly remote: string;
  readonly stats: LinkStats = { cellsIn: 0, cellsOut: 0, dropped: 0 };
  peerIdentity: string | undefined;
  peerCert: Uint8Array | undefined;
  closed = false;
  lastUsed = Date.now();
  onCell: (cell: Uint8Array) => void = () => {};
  onClose: (reason: string) => void = () => {};
  /** Set when the handshake finishes (or fails with a reason). */
  ready: Promise<void>;

  /** Bytes of an incomplete wire unit (at most one unit's worth is ever kept). */
  private readonly pending = Buffer.allocUnsafe(WIRE_CELL_SIZE);
  private pendingLen = 0;
  private sealer: RecordSealer | undefined;
  private opener: RecordOpener | undefined;
  private readonly flow: LinkFlow;
  /** Cells of the records of one read (reused). */
  private readonly cells: Uint8Array[] = [];
  private partialTimer: NodeJS.Timeout | undefined;
  private hsTimer: NodeJS.Timeout | undefined;
  private hsStep: (cell: Uint8Array) => void;
  private settle!: (err?: Error) => void;

  constructor(
    private readonly socket: Socket,
    readonly outbound: boolean,
    private readonly ctx: LinkContext,
    expectedIdentity?: Uint8Array,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.flow = new LinkFlow(
      {
        get queuedBytes() {
          return socket.writableLength;
        },
        writeCells: (cells) => this.writeCells(cells),
        onceDrained: (fn) => socket.once('drain', fn),
      },
      {
        window: ctx.windowCells ?? DEFAULT_WINDOW,
        creditEvery: ctx.creditEvery ?? CREDIT_EVERY,
        maxQueuedBytes: ctx.maxQueuedBytes,
        circuitQueueCells: ctx.circuitQueueCells,
        circuitQueueMs: ctx.circuitQueueMs ?? DEFAULT_QUEUE_MS,
      },
    );
    this.ready = new Promise((resolve, reject) => {
      this.settle = (err) => (err ? reject(err) : resolve());
    });
    this.ready.catch(() => {});
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    socket.on('error', (e) => this.close(`socket error: ${e.message}`));
    socket.on('close', () => this.close('closed by peer'));
    this.hsTimer = setTimeout(() => this.close('handshake timed out'), ctx.handshakeTimeoutMs);
    this.hsStep = outbound ? this.clientHandshake(expectedIdentity!) : this.serverHandshake();
  }

  private clientHandshake(expected: Uint8Array): (cell: Uint8Array) => void {
    const eph = x25519Generate();
    const reader = new HandshakeReader(ACCEPT);
    const hello = () => this.write(encodeHandshake(HELLO, eph.pub));
    if (this.socket.connecting) this.socket.once('connect', hello);
    else hello();
    return (cell) => {
      const msg = reader.push(cell);
      if (!msg) return;
      const a = decodeAccept(msg, (Y) => x25519(eph.privateKey, Y));
      if (!ctEqual(identityOfDer(a.der), expected)) throw new Error('peer hostkey is not the one we dialled');
      const cert = verifyCert(a.cert, a.der);
      if (!cert) throw new Error('bad or expired onion key cert');
      const seed = ntorClient(eph, expected, cert.onionKey, a.Y, a.auth);
      if (!seed) throw new Error('ntor auth failed');
      this.open(hkdf(seed, KEY_INFO, 128), true);
      this.peerIdentity = Buffer.from(expected).toString('hex');
      this.peerCert = a.cert;
    };
  }

  private serverHandshake(): (cell: Uint8Array) => void {
    const reader = new HandshakeReader(HELLO);
    return (cell) => {
      const X = reader.push(cell);
      if (!X) return;
      if (X.length !== 32) throw new Error('HELLO: bad key length');
      const cur = this.ctx.keys.current;
      const r = ntorServer(cur.pair, this.ctx.identity, X);
      if (!r) throw new Error('HELLO: bad X25519 key');
      this.write(
        encodeHandshake(
          ACCEPT,
          encodeAccept({ Y: r.Y, auth: r.auth, der: this.ctx.der, cert: cur.cert }, r.xy),
        ),
      );
      this.open(hkdf(r.keySeed, KEY_INFO, 128), false);
    };
  }

  /** k: dialler-to-responder keystream and MAC keys, then responder-to-dialler ones (32 bytes each). */
  private open(k: Uint8Array, dialler: boolean): void {
    const part = (i: number) => k.subarray(32 * i, 32 * (i + 1));
    const [send, recv] = dialler ? [0, 2] : [2, 0];
    this.sealer = new RecordSealer(part(send), part(send + 1));
    this.opener = new RecordOpener(part(recv), part(recv + 1));
    clearTimeout(this.hsTimer);
    this.settle();
  }

  send(cell: Uint8Array): boolean {
    if (this.closed || !this.sealer) return false;
    if (cell.length !== CELL_SIZE) throw new Error(`cell of ${cell.length} bytes`);
    this.lastUsed = Date.now();
    this.flow.send(cell);
    this.stats.dropped = this.flow.dropped;
    return true;
  }

  private writeCells(cells: readonly Uint8Array[]): void {
    if (this.closed) return;
    this.stats.cellsOut += cells.length;
    this.write(this.sealer!.seal(cells));
  }

  private write(bytes: Uint8Array): void {
    linkTap.fn?.(this.ctx.identity, this.id, 'out', bytes.length);
    this.socket.write(bytes);
  }

  /** Tests only: write raw bytes, bypassing framing (to check that peers enforce it). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    linkTap.fn?.(this.ctx.identity, this.id, 'in', chunk.length);
    let at = 0;
    if (this.pendingLen > 0) {
      at = Math.min(WIRE_CELL_SIZE - this.pendingLen, chunk.length);
      chunk.copy(this.pending, this.pendingLen, 0, at);
      this.pendingLen += at;
      if (this.pendingLen < WIRE_CELL_SIZE) return;
      this.pendingLen = 0;
      this.onUnits(this.pending);
    }
    // Handshake units one at a time (the keys may be set by any of them), then all whole units at once.
    while (!this.opener && chunk.length - at >= WIRE_CELL_SIZE && !this.closed) {
      this.onUnits(chunk.subarray(at, at + WIRE_CELL_SIZE));
      at += WIRE_CELL_SIZE;
    }
    const whole = Math.floor((chunk.length - at) / WIRE_CELL_SIZE) * WIRE_CELL_SIZE;
    if (whole > 0 && !this.closed) {
      this.onUnits(chunk.subarray(at, at + whole));
      at += whole;
    }
    if (this.closed) return;
    if (at < chunk.length) {
      chunk.copy(this.pending, 0, at);
      this.pendingLen = chunk.length - at;
    }
    clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
    if (this.pendingLen > 0 || this.opener?.partial) {
      this.partialTimer = setTimeout(
        () => this.close(`partial cell or record (${this.pendingLen} bytes) not completed`),
        this.ctx.partialCellTimeoutMs,
      );
    }
  }

  private consume(): void {
    this.flow.consume();
  }

  /** Whole wire units: one handshake cell, or any number of record units. */
  private onUnits(units: Uint8Array): void {
    const opener = this.opener;
    if (!opener) {
      try {
        this.hsStep(units);
      } catch (e) {
        this.close(`handshake: ${(e as Error).message}`);
      }
      return;
    }
    const cells = this.cells;
    const ok = opener.read(units, cells);
    // Cells of the records that verified before a bad one are handled: they are authentic.
    for (let i = 0; i < cells.length && !this.closed; i++) this.onLinkCell(cells[i]!);
    cells.length = 0;
    if (!ok) this.close('record failed authentication (cut, forged, replayed or too long)');
  }

  private onLinkCell(cell: Uint8Array): void {
    this.stats.cellsIn++;
    if (cell[CMD_OFFSET] === CellCmd.CREDIT && cellCircId(cell) === 0) {
      const n = new DataView(cell.buffer, cell.byteOffset, cell.length).getUint32(PAYLOAD_OFFSET);
      const bad = this.flow.credit(n);
      if (bad) this.close(bad);
      return;
    }
    if (++this.flow.uncredited > MAX_UNCREDITED) {
      this.close(`peer ignored flow control: ${this.flow.uncredited} cells not yet credited`);
      return;
    }
    this.lastUsed = Date.now();
    const ingress = this.ctx.ingress;
    if (!ingress) {
      this.consume();
      this.onCell(cell);
      return;
    }
    ingress.push(
      this,
      (stale) => {
        if (this.closed) return;
        this.consume();
        if (!stale) this.onCell(cell);
      },
      cell[CMD_OFFSET] === CellCmd.RELAY,
    );
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.flow.close();
    clearTimeout(this.hsTimer);
    clearTimeout(this.partialTimer);
    this.ctx.log.debug(`link ${this.id} (${this.remote}) closed: ${reason}`);
    this.socket.destroy();
    this.settle(new Error(reason));
    this.onClose(reason);
  }
}

/** Dial a peer and authenticate it as `identity`; rejects on any failure or timeout. */
export async function dialLink(
  ctx: LinkContext,
  host: string,
  port: number,
  identity: Uint8Array,
): Promise<TcpLink> {
  const socket = connect({ host, port });
  const link = new TcpLink(socket, true, ctx, identity);
  await link.ready;
  return link;
}
