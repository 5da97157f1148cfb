// RPS's P2P links: one authenticated link per peer identity (dialled on demand with the identity
// we expect, or accepted from the peer), requests matched to replies by nonce, every wait timed
// out, the number of links and of requests in flight bounded.
import { randomInt } from 'node:crypto';
import { formatAddress, type HostPort } from '../../shared/address.ts';
import type { Hostkey } from '../hostkey.ts';
import type { Logger } from '../log.ts';
import { connectLink, type Link, type LinkListener, listenLinks } from '../p2p/index.ts';
import { RPS_PROTOCOL } from './protocol.ts';

export interface LinksOptions {
  hostkey: Hostkey;
  powBits: number;
  log: Logger;
  maxLinks: number;
  /** TCP connect + link handshake. */
  connectTimeoutMs: number;
  /** Inbound handshake deadline (default: the link library's, 3 s). */
  handshakeTimeoutMs?: number;
  /** Handles every application frame except replies to our own requests. */
  onMessage(link: Link, type: number, body: Uint8Array): void;
}

interface Pending {
  link: Link;
  resolve(body: Uint8Array): void;
  reject(e: Error): void;
}

const MAX_PENDING = 4096;

export class RpsLinks {
  private listener: LinkListener | undefined;
  private readonly byId = new Map<string, Link>();
  private readonly dialing = new Map<string, Promise<Link>>();
  private readonly pending = new Map<string, Pending>();
  private listenPort = 0;
  private closed = false;

  constructor(private readonly opts: LinksOptions) {}

  async listen(address: HostPort): Promise<string> {
    this.listener = await listenLinks({
      address,
      hostkey: this.opts.hostkey,
      protocol: RPS_PROTOCOL,
      powBits: this.opts.powBits,
      log: this.opts.log,
      maxConnections: this.opts.maxLinks * 2,
      limits: this.opts.handshakeTimeoutMs ? { handshakeTimeoutMs: this.opts.handshakeTimeoutMs } : undefined,
      onLink: (link) => this.attach(link),
    });
    this.listenPort = this.listener.port;
    return this.listener.address;
  }

  get size(): number {
    return this.byId.size;
  }

  private attach(link: Link): void {
    if (this.closed) {
      link.close('shutting down');
      return;
    }
    const old = this.byId.get(link.peerId);
    this.byId.set(link.peerId, link);
    // A second link to the same peer (both dialled at once): the newer one wins, the older one
    // lives on until it idles out, so replies in flight on it still arrive.
    if (old && old !== link) this.opts.log.debug(`second link to ${link.peerId.slice(0, 12)}`);
    link.onMessage((type, body) => this.onFrame(link, type, body));
    link.onClose(() => {
      if (this.byId.get(link.peerId) === link) this.byId.delete(link.peerId);
      for (const [key, p] of this.pending)
        if (p.link === link) this.settle(key, undefined, new Error('link closed'));
    });
    this.trim();
  }

  /** Over the cap: close the links that have been quiet longest (insertion order of the map). */
  private trim(): void {
    for (const [id, link] of this.byId) {
      if (this.byId.size <= this.opts.maxLinks) break;
      this.byId.delete(id);
      link.close('too many links');
    }
  }

  /** An open link to `id` at `address`, dialled if needed; the peer must prove that identity. */
  link(id: string, address: HostPort): Promise<Link> {
    const cur = this.byId.get(id);
    if (cur && !cur.closed) {
      // Move to the end: most recently used.
      this.byId.delete(id);
      this.byId.set(id, cur);
      return Promise.resolve(cur);
    }
    let dial = this.dialing.get(id);
    if (!dial) {
      dial = this.dial(id, address).finally(() => this.dialing.delete(id));
      this.dialing.set(id, dial);
    }
    return dial;
  }

  /** Dial an address whose identity we do not know yet (a configured bootstrapper). */
  dialAny(address: HostPort): Promise<Link> {
    return this.dial(undefined, address);
  }

  private async dial(id: string | undefined, address: HostPort): Promise<Link> {
    const timeoutMs = this.opts.connectTimeoutMs;
    if (this.closed) throw new Error('shutting down');
    let late = false;
    const connecting = connectLink({
      address,
      hostkey: this.opts.hostkey,
      protocol: RPS_PROTOCOL,
      powBits: this.opts.powBits,
      log: this.opts.log,
      listenPort: this.listenPort,
      expectIdentity: id === undefined ? undefined : Buffer.from(id, 'hex'),
      limits: { handshakeTimeoutMs: timeoutMs },
    });
    // A handshake finishing after we gave up must not leave an orphan link behind.
    connecting.then(
      (l) => late && l.close('connect timed out'),
      () => {},
    );
    try {
      const link = await withTimeout(
        connecting,
        timeoutMs,
        `connect to ${id?.slice(0, 12) ?? formatAddress(address)}`,
      );
      this.attach(link);
      return link;
    } catch (e) {
      late = true;
      throw e;
    }
  }

  /** Send a request carrying a fresh nonce; resolves with the matching reply's body. */
  async request(
    id: string,
    address: HostPort,
    type: number,
    body: (nonce: number) => Uint8Array,
    timeoutMs: number,
  ): Promise<Uint8Array> {
    if (this.pending.size >= MAX_PENDING) throw new Error('too many requests in flight');
    const link = await this.link(id, address);
    const nonce = randomInt(0, 2 ** 32 - 1);
    const key = `${link.peerId}/${nonce}`;
    const reply = new Promise<Uint8Array>((resolve, reject) =>
      this.pending.set(key, { link, resolve, reject }),
    );
    if (!link.send(type, body(nonce))) this.settle(key, undefined, new Error('link closed'));
    return withTimeout(reply, timeoutMs, `reply ${type} from ${id.slice(0, 12)}`).finally(() =>
      this.pending.delete(key),
    );
  }

  /** Fire-and-forget message to a peer (dialling if needed). */
  async send(id: string, address: HostPort, type: number, body: Uint8Array): Promise<void> {
    const link = await this.link(id, address);
    if (!link.send(type, body)) throw new Error('link closed');
  }

  /** A protocol violation noticed outside the frame handler: close the peer's link, logged. */
  drop(id: string, reason: string): void {
    this.byId.get(id)?.violation(reason);
  }

  /** Route a reply to its request; false if nobody waits for it (late or unsolicited). */
  settle(key: string, body: Uint8Array | undefined, err?: Error): boolean {
    const p = this.pending.get(key);
    if (!p) return false;
    this.pending.delete(key);
    if (err) p.reject(err);
    else p.resolve(body!);
    return true;
  }

  private onFrame(link: Link, type: number, body: Uint8Array): void {
    this.opts.onMessage(link, type, body);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('shutting down'));
    this.pending.clear();
    for (const l of this.byId.values()) l.close('shutting down');
    this.byId.clear();
    await this.listener?.close();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
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
