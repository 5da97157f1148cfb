// The DHT's links to other relays and its request/reply layer. Links come from relay/p2p (mutual
// hostkey proof + PoW on the identity), so the id of every contact we talk to is authenticated:
// when we dial a contact learnt from a NODES reply we demand exactly that identity. Bounded: links
// held, requests in flight, bytes of a message being reassembled; every request times out.
import { formatAddress, type HostPort, ipToBytes } from '../../shared/address.ts';
import type { Hostkey } from '../hostkey.ts';
import type { Logger } from '../log.ts';
import {
  connectLink,
  type Link,
  type LinkLimits,
  LinkViolation,
  listenLinks,
  type LinkListener,
} from '../p2p/index.ts';
import { type DhtMessage, DhtType, decodeDht, encodeDht } from './protocol.ts';
import type { Contact } from './routing.ts';

export const DHT_PROTOCOL = 'voidphone-dht-v1';
const MAX_ASSEMBLED = 70_000;
const MAX_PENDING = 4096;
const REPLY_TO: Record<number, readonly number[]> = {
  [DhtType.PING]: [DhtType.PONG],
  [DhtType.FIND_NODE]: [DhtType.NODES],
  [DhtType.FIND_VALUE]: [DhtType.VALUE, DhtType.NODES],
  [DhtType.STORE]: [DhtType.STORED],
};

export interface PeerPoolOptions {
  hostkey: Hostkey;
  address: HostPort;
  /** The port peers are told (p2p_advertise); 0: the bound one. */
  advertisePort?: number;
  powBits: number;
  log: Logger;
  maxLinks: number;
  requestTimeoutMs: number;
  linkLimits?: Partial<LinkLimits>;
  /** Inbound handshake deadline (dials use linkLimits). */
  handshakeTimeoutMs?: number;
  /** A request from an authenticated peer; return the reply (or undefined for none). */
  onRequest(from: Contact | undefined, msg: DhtMessage, peerId: string, host: string): DhtMessage | undefined;
  /** We heard from this contact over an authenticated link (routing table update). */
  onSeen(c: Contact): void;
}

interface Pending {
  rid: number;
  link: Link;
  accept: readonly number[];
  resolve(m: DhtMessage): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** A request that failed on our side (our own cap on requests in flight, a link we closed, shutdown):
 * it says nothing about the contact, so it must not count as the contact's failure. */
export class LocalError extends Error {}

interface LinkState {
  contact?: Contact;
  /** We closed this link ourselves (link limit). */
  closedByUs?: boolean;
  frags: Uint8Array[];
  fragBytes: number;
  lastUsed: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** IP part of "ip:port" as node reports it, IPv4-mapped IPv6 unwrapped. */
export function remoteIp(remote: string): string {
  const ip = remote.slice(0, remote.lastIndexOf(':'));
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function encodableIp(host: string): boolean {
  try {
    ipToBytes(host);
    return true;
  } catch {
    return false;
  }
}

export class PeerPool {
  private listener: LinkListener | undefined;
  private readonly links = new Map<string, Link>();
  private readonly state = new WeakMap<Link, LinkState>();
  private readonly dialing = new Map<string, Promise<Link>>();
  private readonly pending = new Map<number, Pending>();
  private nextRid = 1;
  private stopped = false;
  /** Requests sent, for statistics (messages per lookup). */
  sent = 0;

  constructor(private readonly opts: PeerPoolOptions) {}

  get address(): string {
    return this.listener?.address ?? formatAddress(this.opts.address);
  }

  get linkCount(): number {
    return this.links.size;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.listener = await listenLinks({
      ...this.linkOpts(),
      address: this.opts.address,
      maxConnections: this.opts.maxLinks * 2,
      limits: { ...this.opts.linkLimits, handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 3000 },
      onLink: (link) => this.adopt(link, undefined),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new LocalError('DHT stopping'));
    }
    this.pending.clear();
    for (const l of this.links.values()) l.close('shutting down');
    await this.listener?.close();
  }

  /** Dial an address whose identity we do not know yet (a bootstrapper); returns its proven contact. */
  async dialAddress(addr: HostPort): Promise<Contact> {
    const link = await connectLink({ ...this.linkOpts(), address: addr });
    const c: Contact = { id: link.peerIdentity, host: remoteIp(link.remote), port: addr.port };
    this.adopt(link, c);
    return c;
  }

  /** Send a request to a contact (dialing it, demanding its id) and wait for the matching reply. */
  async request(c: Contact, msg: DhtMessage): Promise<DhtMessage> {
    if (this.stopped) throw new LocalError('DHT stopped');
    const link = await this.linkTo(c);
    if (this.stopped) throw new LocalError('DHT stopped');
    if (this.pending.size >= MAX_PENDING) throw new LocalError('too many DHT requests in flight');
    const rid = this.nextRid;
    this.nextRid = (this.nextRid % 0xffffffff) + 1;
    return new Promise<DhtMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new Error(`request ${msg.type} to ${link.peerId.slice(0, 12)} timed out`));
      }, this.opts.requestTimeoutMs);
      this.pending.set(rid, { rid, link, accept: REPLY_TO[msg.type] ?? [], resolve, reject, timer });
      this.sent++;
      if (!this.sendOn(link, { ...msg, rid } as DhtMessage)) {
        this.settle(rid, new Error('link closed'));
      }
    });
  }

  private linkOpts() {
    return {
      hostkey: this.opts.hostkey,
      protocol: DHT_PROTOCOL,
      powBits: this.opts.powBits,
      log: this.opts.log,
      limits: this.opts.linkLimits,
      listenPort: this.opts.advertisePort || (this.listener?.port ?? this.opts.address.port),
    };
  }

  private linkTo(c: Contact): Promise<Link> {
    const id = hex(c.id);
    const open = this.links.get(id);
    if (open && !open.closed) {
      this.state.get(open)!.lastUsed = Date.now();
      return Promise.resolve(open);
    }
    // A dial in progress is shared only for the same address: a NODES reply may pair a real id with
    // a dead address, and a request to the real address must not wait for (and fail with) that dial.
    const key = `${id}@${formatAddress({ host: c.host, port: c.port })}`;
    let p = this.dialing.get(key);
    if (!p) {
      p = connectLink({ ...this.linkOpts(), address: { host: c.host, port: c.port }, expectIdentity: c.id })
        .then((link) => {
          this.adopt(link, c);
          return link;
        })
        .finally(() => this.dialing.delete(key));
      this.dialing.set(key, p);
    }
    return p;
  }

  private adopt(link: Link, dialed: Contact | undefined): void {
    const port = dialed?.port ?? link.peerListenPort;
    const host = dialed?.host ?? remoteIp(link.remote);
    // Only contacts we can put in a NODES reply (an IP and a port) enter the routing table.
    const contact = port && encodableIp(host) ? { id: link.peerIdentity, host, port } : undefined;
    const st: LinkState = { contact, frags: [], fragBytes: 0, lastUsed: Date.now() };
    this.state.set(link, st);
    // Both ends may dial each other at once: the newest link is used for sending, the other one
    // stays open (replies travel on the link of their request) until it idles out.
    this.links.set(link.peerId, link);
    link.onMessage((type, body) => this.onFrame(link, type, body));
    link.onClose(() => {
      if (this.links.get(link.peerId) === link) this.links.delete(link.peerId);
      const err = st.closedByUs ? new LocalError('link closed (link limit)') : new Error('link closed');
      for (const p of [...this.pending.values()]) if (p.link === link) this.settle(p.rid, err);
    });
    this.trim();
  }

  /** Keep at most maxLinks: close the least recently used. */
  private trim(): void {
    if (this.links.size <= this.opts.maxLinks) return;
    let oldest: Link | undefined;
    for (const l of this.links.values()) {
      if (!oldest || this.state.get(l)!.lastUsed < this.state.get(oldest)!.lastUsed) oldest = l;
    }
    if (!oldest) return;
    this.state.get(oldest)!.closedByUs = true;
    oldest.close('link limit reached');
  }

  private onFrame(link: Link, type: number, body: Uint8Array): void {
    const st = this.state.get(link)!;
    st.lastUsed = Date.now();
    if (type === DhtType.FRAGMENT) {
      st.fragBytes += body.length;
      if (st.fragBytes > MAX_ASSEMBLED) throw new LinkViolation('fragmented DHT message too large');
      st.frags.push(body);
      return;
    }
    if (st.frags.length > 0) {
      body = Buffer.concat([...st.frags, body]);
      st.frags = [];
      st.fragBytes = 0;
    }
    const msg = decodeDht(type, body);
    if (st.contact) this.opts.onSeen(st.contact);
    const p = this.pending.get(msg.rid);
    if (
      type === DhtType.PONG ||
      type === DhtType.NODES ||
      type === DhtType.VALUE ||
      type === DhtType.STORED
    ) {
      // A late reply (after its timeout) is harmless; a reply to another peer's request is ignored.
      if (p && p.link === link && p.accept.includes(type)) this.settle(msg.rid, undefined, msg);
      return;
    }
    const reply = this.opts.onRequest(st.contact, msg, link.peerId, remoteIp(link.remote));
    if (reply) this.sendOn(link, reply);
  }

  private settle(rid: number, err?: Error, msg?: DhtMessage): void {
    const p = this.pending.get(rid);
    if (!p) return;
    this.pending.delete(rid);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(msg!);
  }

  /** Send one message, split into FRAGMENT frames when it exceeds one frame. */
  private sendOn(link: Link, msg: DhtMessage): boolean {
    const body = encodeDht(msg);
    const max = link.maxBody;
    let at = 0;
    while (body.length - at > max) {
      if (!link.send(DhtType.FRAGMENT, body.subarray(at, at + max))) return false;
      at += max;
    }
    return link.send(msg.type, body.subarray(at));
  }
}
