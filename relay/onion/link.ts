// A link: the encrypted connection between two onion modules. Everything on it is a WIRE_CELL_SIZE
// cell; the first cells are the handshake (in the clear), then every cell is AES-256-GCM sealed with
// a per-direction key and counter nonce, so a cell that is cut, replayed, reordered or forged fails
// its tag and the link is closed at once. The router only sees the Link interface (a UDP transport
// could implement it later).
import { connect, type Socket } from 'node:net';
import { identityOfDer } from '../hostkey.ts';
import type { Logger } from '../log.ts';
import { CELL_SIZE, WIRE_CELL_SIZE } from './cell.ts';
import { CircuitQueues } from './cellqueue.ts';
import {
  ctEqual,
  hkdf,
  ntorClient,
  ntorServer,
  openCell,
  sealCell,
  x25519,
  x25519Generate,
} from './crypto.ts';
import { ACCEPT, decodeAccept, encodeAccept, encodeHandshake, HandshakeReader, HELLO } from './handshake.ts';
import type { OnionKeys } from './onionkey.ts';
import { verifyCert } from './onionkey.ts';

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
  /** Bytes queued in the socket above which cells wait in per-circuit queues instead. */
  maxQueuedBytes: number;
  /** Cells each circuit may have waiting on a congested link (oldest dropped beyond). */
  circuitQueueCells: number;
  /** A partial cell left waiting this long means the peer broke framing. */
  partialCellTimeoutMs: number;
}

let nextLinkId = 1;
const KEY_INFO = 'voidphone link keys v1';

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

  private pending: Buffer = Buffer.alloc(0);
  private sendKey: Uint8Array | undefined;
  private recvKey: Uint8Array | undefined;
  private sendCtr = 0;
  private recvCtr = 0;
  private outQueue: Uint8Array[] = [];
  private readonly waiting: CircuitQueues;
  private drainArmed = false;
  private flushScheduled = false;
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
    this.waiting = new CircuitQueues(ctx.circuitQueueCells);
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
    const hello = () => this.socket.write(encodeHandshake(HELLO, eph.pub));
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
      const k = hkdf(seed, KEY_INFO, 64);
      this.open(k.slice(0, 32), k.slice(32, 64));
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
      this.socket.write(
        encodeHandshake(
          ACCEPT,
          encodeAccept({ Y: r.Y, auth: r.auth, der: this.ctx.der, cert: cur.cert }, r.xy),
        ),
      );
      const k = hkdf(r.keySeed, KEY_INFO, 64);
      this.open(k.slice(32, 64), k.slice(0, 32));
    };
  }

  private open(sendKey: Uint8Array, recvKey: Uint8Array): void {
    this.sendKey = sendKey;
    this.recvKey = recvKey;
    clearTimeout(this.hsTimer);
    this.settle();
  }

  send(cell: Uint8Array): boolean {
    if (this.closed || !this.sendKey) return false;
    if (cell.length !== CELL_SIZE) throw new Error(`cell of ${cell.length} bytes`);
    this.lastUsed = Date.now();
    if (this.waiting.size > 0 || this.socket.writableLength > this.ctx.maxQueuedBytes) {
      const before = this.waiting.dropped;
      this.waiting.push(cell);
      this.stats.dropped += this.waiting.dropped - before;
    } else {
      this.outQueue.push(cell);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Batch the cells produced by one event-loop turn into one write (one syscall).
      process.nextTick(() => this.flush());
    }
    return true;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    if (this.waiting.size > 0) {
      const room = Math.floor((this.ctx.maxQueuedBytes - this.socket.writableLength) / WIRE_CELL_SIZE);
      if (room > this.outQueue.length) this.outQueue.push(...this.waiting.take(room - this.outQueue.length));
    }
    const q = this.outQueue;
    this.outQueue = [];
    if (q.length > 0) {
      const out = Buffer.allocUnsafe(q.length * WIRE_CELL_SIZE);
      for (let i = 0; i < q.length; i++)
        sealCell(this.sendKey!, this.sendCtr++, q[i]!, out, i * WIRE_CELL_SIZE);
      this.stats.cellsOut += q.length;
      this.socket.write(out);
    }
    // Cells still waiting: the socket is above its high-water mark, so 'drain' will come.
    if (this.waiting.size > 0 && !this.drainArmed) {
      this.drainArmed = true;
      this.socket.once('drain', () => {
        this.drainArmed = false;
        this.flush();
      });
    }
  }

  /** Tests only: write raw bytes, bypassing framing (to check that peers enforce it). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= WIRE_CELL_SIZE && !this.closed) {
      this.onWireCell(buf.subarray(at, at + WIRE_CELL_SIZE));
      at += WIRE_CELL_SIZE;
    }
    buf = buf.subarray(at);
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
    clearTimeout(this.partialTimer);
    if (this.pending.length && !this.closed) {
      this.partialTimer = setTimeout(
        () => this.close(`partial cell (${this.pending.length} bytes) not completed`),
        this.ctx.partialCellTimeoutMs,
      );
    }
  }

  private onWireCell(wire: Uint8Array): void {
    if (!this.recvKey) {
      try {
        this.hsStep(wire);
      } catch (e) {
        this.close(`handshake: ${(e as Error).message}`);
      }
      return;
    }
    const cell = openCell(this.recvKey, this.recvCtr++, wire);
    if (!cell) {
      this.close('cell failed authentication (wrong size, forged or replayed)');
      return;
    }
    this.stats.cellsIn++;
    this.lastUsed = Date.now();
    this.onCell(cell);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
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
