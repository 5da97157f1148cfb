// One authenticated, encrypted P2P link over a TCP socket: handshake state machine, frame
// dispatch, rate limits, idle keepalive and outbound backpressure. See docs/p2p-link.md.
import { type KeyObject, randomBytes, sign } from 'node:crypto';
import type { Socket } from 'node:net';
import { type Hostkey, publicKeyFromDer, verifySignature } from '../hostkey.ts';
import type { Logger } from '../log.ts';
import { FrameOpener, FrameSealer, TAG_SIZE } from './cipher.ts';
import { encodeHeader, FRAME_HEADER, type Frame, FrameReader, LinkViolation } from './frame.ts';
import * as hs from './handshake.ts';
import type { LinkLimits } from './limits.ts';
import { TokenBucket } from './ratelimit.ts';

export interface LinkSetup {
  hostkey: Hostkey;
  protocol: string;
  powBits: number;
  powNonce: Uint8Array;
  listenPort: number;
  limits: LinkLimits;
  log: Logger;
  initiator: boolean;
  expectIdentity?: Uint8Array;
}

// 'signing': our AUTH is being signed; the peer has no reason to send anything meanwhile.
type State = 'hello' | 'signing' | 'auth' | 'open' | 'closed';
type MessageCb = (type: number, body: Uint8Array) => void;
const MAX_EARLY_FRAMES = 1024;
const MAX_REASON = 200;

export class Link {
  readonly initiator: boolean;
  /** "ip:port" of the TCP peer. */
  remote = '';
  /** IP of the TCP peer: with peerListenPort, where to dial it back. */
  remoteHost = '';
  peerIdentity: Uint8Array = new Uint8Array(0);
  /** Hex of peerIdentity: handy as a map key. */
  peerId = '';
  peerDer: Uint8Array = new Uint8Array(0);
  /** The peer's P2P listening port (0 if it does not listen), as it claimed in its HELLO. */
  peerListenPort = 0;
  /** Resolves once the handshake is done; rejects with the close reason otherwise. */
  readonly ready: Promise<Link>;

  private state: State = 'hello';
  private readonly reader: FrameReader;
  private readonly eph = hs.newEphemeral();
  private readonly challenge = randomBytes(32);
  private readonly ownHello: Uint8Array;
  private th: Uint8Array = new Uint8Array(0);
  private peerKey: KeyObject | undefined;
  private sealer: FrameSealer | undefined;
  private opener: FrameOpener | undefined;
  private readonly msgBucket: TokenBucket;
  private readonly byteBucket: TokenBucket;
  private readonly messageCbs: MessageCb[] = [];
  private readonly closeCbs: ((reason: string) => void)[] = [];
  private early: Frame[] = [];
  private lastRecv = Date.now();
  private lastSend = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private settle!: { ok: (l: Link) => void; fail: (e: Error) => void };

  constructor(
    private readonly socket: Socket,
    private readonly setup: LinkSetup,
  ) {
    this.initiator = setup.initiator;
    const learnRemote = () => {
      this.remoteHost = socket.remoteAddress ?? '';
      this.remote = `${this.remoteHost}:${socket.remotePort}`;
    };
    if (socket.remoteAddress) learnRemote();
    else socket.once('connect', learnRemote);
    this.reader = new FrameReader(setup.limits.maxFrameSize);
    const { limits } = setup;
    this.msgBucket = new TokenBucket(limits.msgsPerSec, limits.msgBurst);
    this.byteBucket = new TokenBucket(limits.bytesPerSec, limits.byteBurst);
    this.ready = new Promise((ok, fail) => {
      this.settle = { ok, fail };
    });
    this.ready.catch(() => {}); // callers that never await must not trigger unhandled rejections
    this.ownHello = hs.encodeHello({
      protocol: setup.protocol,
      listenPort: setup.listenPort,
      challenge: this.challenge,
      ephemeral: this.eph.publicRaw,
      powNonce: setup.powNonce,
      hostkeyDer: setup.hostkey.spkiDer,
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) =>
      this.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)),
    );
    socket.on('error', (e: NodeJS.ErrnoException) => this.close(`socket error ${e.code ?? e.message}`));
    socket.on('close', () => this.close('connection closed by peer'));
    this.after(limits.handshakeTimeoutMs, () => {
      if (this.state !== 'open') this.violation('handshake timeout');
    });
    this.writeFrame(hs.LinkType.HELLO, this.ownHello);
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Queue an application frame (type >= 1010). False if the link is not open or just overflowed. */
  send(type: number, body: Uint8Array): boolean {
    if (this.state !== 'open') return false;
    if (type < hs.FIRST_APP_TYPE || type > 0xffff) throw new RangeError(`frame type ${type} is reserved`);
    if (body.length > this.maxBody)
      throw new RangeError(`frame body of ${body.length} bytes > ${this.maxBody}`);
    return this.sendSealed(type, body);
  }

  /** Largest body send() accepts. */
  get maxBody(): number {
    return this.setup.limits.maxFrameSize - FRAME_HEADER - TAG_SIZE;
  }

  /** Receive application frames. A callback throwing LinkViolation (or anything) drops the link. */
  onMessage(cb: MessageCb): () => void {
    this.messageCbs.push(cb);
    if (this.early.length) queueMicrotask(() => this.flushEarly());
    return () => {
      const i = this.messageCbs.indexOf(cb);
      if (i >= 0) this.messageCbs.splice(i, 1);
    };
  }

  onClose(cb: (reason: string) => void): void {
    if (this.state === 'closed') queueMicrotask(() => cb(this.closeReason));
    else this.closeCbs.push(cb);
  }

  private closeReason = '';

  /** Close with a logged reason (sent to the peer too, if the link is open). Idempotent. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.closeReason = reason;
    // Tell the peer why (best effort; writeRaw cannot recurse into close now).
    if (wasOpen) this.sendSealed(hs.LinkType.CLOSE, new TextEncoder().encode(reason.slice(0, MAX_REASON)));
    for (const t of this.timers) clearTimeout(t);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.setup.log.debug(`link ${this.label()} closed: ${reason}`);
    this.settle.fail(new Error(`link ${this.remote} closed: ${reason}`));
    for (const cb of this.closeCbs.splice(0)) cb(reason);
  }

  /** A protocol violation by the peer: logged at info, then closed. */
  violation(reason: string): void {
    if (this.state === 'closed') return;
    this.setup.log.info(`dropping peer ${this.label()}: ${reason}`);
    this.close(reason);
  }

  private label(): string {
    return this.peerId ? `${this.peerId.slice(0, 12)}@${this.remote}` : this.remote;
  }

  private after(ms: number, fn: () => void, repeat = false): void {
    const t = repeat ? setInterval(fn, ms) : setTimeout(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private onData(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    this.lastRecv = Date.now();
    try {
      for (const f of this.reader.push(chunk)) {
        if (this.closed) return;
        this.onFrame(f);
      }
    } catch (e) {
      this.violation(e instanceof LinkViolation ? e.message : `error: ${(e as Error).message}`);
    }
  }

  private onFrame(f: Frame): void {
    if (this.state === 'hello') {
      this.onHello(f);
      return;
    }
    if (this.state === 'auth') {
      this.onAuth(f);
      return;
    }
    if (this.state === 'signing') throw new LinkViolation(`frame type ${f.type} before our AUTH`);
    if (!this.msgBucket.take(1)) throw new LinkViolation('message rate limit exceeded');
    if (!this.byteBucket.take(f.body.length + FRAME_HEADER))
      throw new LinkViolation('byte rate limit exceeded');
    const body = this.opener!.open(f.header, f.body);
    if (f.type === hs.LinkType.PING) return;
    if (f.type === hs.LinkType.CLOSE) {
      const why = new TextDecoder().decode(body.subarray(0, MAX_REASON)).replace(/[^\x20-\x7e]/g, '?');
      this.close(`closed by peer: ${why}`);
      return;
    }
    if (f.type < hs.FIRST_APP_TYPE) throw new LinkViolation(`frame type ${f.type} after handshake`);
    if (this.messageCbs.length === 0) {
      if (this.early.length >= MAX_EARLY_FRAMES) throw new LinkViolation('too many frames before a reader');
      this.early.push({ ...f, body });
      return;
    }
    this.dispatch(f.type, body);
  }

  private dispatch(type: number, body: Uint8Array): void {
    try {
      for (const cb of [...this.messageCbs]) cb(type, body);
    } catch (e) {
      this.violation(e instanceof LinkViolation ? e.message : `handler error: ${(e as Error).message}`);
    }
  }

  private flushEarly(): void {
    const frames = this.early;
    this.early = [];
    for (const f of frames) if (this.state === 'open') this.dispatch(f.type, f.body);
  }

  private onHello(f: Frame): void {
    if (f.type !== hs.LinkType.HELLO) throw new LinkViolation(`expected HELLO, got type ${f.type}`);
    const hello = hs.decodeHello(f.body);
    const peer = hs.verifyHello(hello, this.setup.protocol, this.setup.powBits, this.setup.hostkey.identity);
    if (this.setup.expectIdentity && !Buffer.from(peer.identity).equals(this.setup.expectIdentity)) {
      throw new LinkViolation('peer identity is not the one expected');
    }
    this.peerIdentity = peer.identity;
    this.peerId = Buffer.from(peer.identity).toString('hex');
    this.peerDer = peer.spkiDer;
    this.peerListenPort = hello.listenPort;
    this.peerKey = publicKeyFromDer(peer.spkiDer);
    const [iHello, rHello] = this.initiator ? [this.ownHello, f.body] : [f.body, this.ownHello];
    this.th = hs.transcriptHash(this.setup.protocol, iHello, rHello);
    const keys = hs.deriveKeys(this.eph, hello.ephemeral, this.th, this.setup.protocol);
    this.sealer = new FrameSealer(this.initiator ? keys.i2r : keys.r2i);
    this.opener = new FrameOpener(this.initiator ? keys.r2i : keys.i2r);
    this.state = this.initiator ? 'signing' : 'auth';
    // The initiator proves itself first: a responder signs (4 ms of RSA-4096) only for a dialler
    // that already spent a signature of its own, so connecting costs an attacker what it costs us.
    if (this.initiator) this.sendAuth();
  }

  /** Sign on libuv's thread pool: RSA-4096 signing would otherwise stall every link of the relay. */
  private sendAuth(): void {
    sign('sha256', hs.authPayload(this.th, this.initiator), this.setup.hostkey.privateKey, (err, sig) => {
      if (this.closed) return;
      if (err) return this.close(`signing failed: ${err.message}`);
      this.writeFrame(hs.LinkType.AUTH, sig);
      if (this.initiator) this.state = 'auth';
      else this.open();
    });
  }

  private onAuth(f: Frame): void {
    if (f.type !== hs.LinkType.AUTH) throw new LinkViolation(`expected AUTH, got type ${f.type}`);
    hs.checkAuthSize(f.body);
    if (!verifySignature(this.peerKey!, hs.authPayload(this.th, !this.initiator), f.body)) {
      throw new LinkViolation('AUTH signature does not verify');
    }
    if (this.initiator) this.open();
    else {
      this.state = 'signing';
      this.sendAuth(); // opens once our AUTH is out
    }
  }

  private open(): void {
    this.state = 'open';
    const idle = this.setup.limits.idleTimeoutMs;
    this.after(Math.max(10, Math.floor(idle / 3)), () => this.tick(idle), true);
    this.settle.ok(this);
  }

  private tick(idle: number): void {
    const now = Date.now();
    if (now - this.lastRecv > idle) this.violation('idle timeout');
    else if (now - this.lastSend >= idle / 3) this.sendSealed(hs.LinkType.PING, new Uint8Array(0));
  }

  private sendSealed(type: number, body: Uint8Array): boolean {
    const size = FRAME_HEADER + body.length + TAG_SIZE;
    const header = encodeHeader(size, type);
    return this.writeRaw(header, this.sealer!.seal(header, body));
  }

  private writeFrame(type: number, body: Uint8Array): boolean {
    return this.writeRaw(encodeHeader(FRAME_HEADER + body.length, type), body);
  }

  private writeRaw(header: Uint8Array, body: Uint8Array): boolean {
    if (this.socket.destroyed) return false;
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(body);
    this.socket.uncork();
    this.lastSend = Date.now();
    if (this.socket.writableLength > this.setup.limits.maxQueuedBytes) {
      this.violation('outbound queue overflow (peer not reading)');
      return false;
    }
    return true;
  }
}
