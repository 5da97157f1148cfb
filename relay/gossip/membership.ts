// Membership: the P2P listener, the neighbour set, dialing from the address book up to `degree`
// neighbours (replacing dead ones), peer exchange, and the eclipse defences (at most half of the
// neighbours we dial may come from one source; inbound capped by max_connections).
import { type HostPort, formatAddress } from '../../shared/address.ts';
import { fromHex } from '../../shared/identity.ts';
import type { Hostkey } from '../hostkey.ts';
import type { Logger } from '../log.ts';
import {
  connectLink,
  type Link,
  type LinkLimits,
  type LinkListener,
  LinkViolation,
  listenLinks,
} from '../p2p/index.ts';
import { isPrivateAddress } from '../private-address.ts';
import { AddressBook, type BookEntry, shuffle } from './book.ts';
import type { GossipConfig } from './config.ts';
import { decodePeers, encodePeers, GossipType, MAX_PEERS, type PeerRecord } from './protocol.ts';
import { gossipStats } from './stats.ts';

export const PROTOCOL = 'voidphone-gossip-v1';
const MAX_DIALS_IN_FLIGHT = 4;
const BOOK_SIZE = 1024;
/** A relay at max_connections still answers one PEERS_REQUEST, then closes within this time. */
const FULL_GRACE_MS = 2000;
/** Peer exchange that keeps teaching us nothing backs off up to this many pex intervals. */
const MAX_PEX_BACKOFF = 8;

export interface MembershipEvents {
  /** A gossip frame (PUSH, DIGEST) from a neighbour; throw LinkViolation to drop it. */
  onFrame(link: Link, type: number, body: Uint8Array): void;
}

export class Membership {
  readonly neighbours = new Map<string, Link>();
  readonly book: AddressBook;
  private listener: LinkListener | undefined;
  private readonly dialing = new Set<string>();
  /** Book source of each neighbour we dialled (peer id -> source), for the per-source cap. */
  private readonly dialSource = new Map<string, string>();
  private readonly pexAsked = new WeakSet<Link>();
  /** Inbound links refused for lack of room: closed as soon as their PEERS_REQUEST is answered. */
  private readonly turnedAway = new WeakSet<Link>();
  private readonly pexAnsweredAt = new WeakMap<Link, number>();
  /**
   * Pacing of the periodic peer exchange (not of the one question to each new neighbour): at most
   * one PEERS_REQUEST per pexDelayMs, which doubles (up to MAX_PEX_BACKOFF intervals) each time an
   * answer teaches us no new address and falls back to pex_interval_ms when one does. Without it a
   * relay short of `degree` neighbours (any network of fewer than degree + 1 relays) asked again
   * on every answer, and PEERS_REQUEST/PEERS bounced at loopback speed for ever.
   */
  private pexDelayMs: number;
  private nextPexAt = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  readonly ownId: string;
  private readonly limits: Partial<LinkLimits>;

  constructor(
    private readonly cfg: GossipConfig,
    private readonly hostkey: Hostkey,
    private readonly log: Logger,
    private readonly events: MembershipEvents,
  ) {
    this.ownId = Buffer.from(hostkey.identity).toString('hex');
    this.pexDelayMs = cfg.pexIntervalMs;
    this.book = new AddressBook(BOOK_SIZE, cfg.dialBackoffMs, this.ownId);
    for (const b of cfg.bootstrappers) this.book.addBootstrap(b);
    this.limits = {
      handshakeTimeoutMs: cfg.handshakeTimeoutMs,
      idleTimeoutMs: cfg.idleTimeoutMs,
      msgsPerSec: cfg.rateMsgs,
      msgBurst: 2 * cfg.rateMsgs,
      bytesPerSec: cfg.rateBytes,
      byteBurst: 2 * cfg.rateBytes,
    };
  }

  get address(): string {
    return this.listener?.address ?? '';
  }

  links(): Link[] {
    return [...this.neighbours.values()];
  }

  async start(): Promise<void> {
    this.listener = await listenLinks({
      address: this.cfg.p2pAddress,
      hostkey: this.hostkey,
      protocol: PROTOCOL,
      powBits: this.cfg.powBits,
      log: this.log,
      limits: this.limits,
      // Room for handshakes and turned-away newcomers beyond the neighbours themselves.
      maxConnections: 2 * this.cfg.maxConnections + 64,
      onLink: (link) => this.addNeighbour(link),
    });
    this.every(this.cfg.maintainIntervalMs, () => this.maintain());
    this.every(this.cfg.pexIntervalMs, () => this.exchange());
    this.maintain();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const l of this.neighbours.values()) l.close('shutting down');
    await this.listener?.close();
  }

  every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  randomNeighbour(): Link | undefined {
    const l = this.links();
    return l[Math.floor(Math.random() * l.length)];
  }

  /** Dial book entries until we have `degree` neighbours (dialing in flight included). */
  maintain(): void {
    if (this.stopped) return;
    let want = Math.min(
      this.cfg.degree - this.neighbours.size - this.dialing.size,
      MAX_DIALS_IN_FLIGHT - this.dialing.size,
    );
    if (want <= 0) return;
    const perSource = new Map<string, number>();
    for (const s of this.dialSource.values()) perSource.set(s, (perSource.get(s) ?? 0) + 1);
    const maxPerSource = Math.max(1, Math.ceil(this.cfg.degree / 2));
    const candidates = shuffle(this.book.due(Date.now())).filter(
      (e) => !this.dialing.has(e.key) && !(e.identity && this.neighbours.has(e.identity)),
    );
    for (const e of candidates) {
      if (want <= 0) break;
      // Charge the dial to the least used of the sources that told us this address.
      const source = [...e.sources].sort((a, b) => (perSource.get(a) ?? 0) - (perSource.get(b) ?? 0))[0]!;
      if ((perSource.get(source) ?? 0) >= maxPerSource) continue;
      perSource.set(source, (perSource.get(source) ?? 0) + 1);
      want--;
      this.dial(e, source);
    }
    if (want > 0) this.exchange();
  }

  /** Ask one random neighbour for peers, if the paced exchange is due. */
  private exchange(): void {
    const now = Date.now();
    if (now < this.nextPexAt) return;
    const link = this.randomNeighbour();
    if (!link || this.pexAsked.has(link)) return;
    this.nextPexAt = now + this.pexDelayMs;
    this.askPeers(link);
  }

  private dial(e: BookEntry, source: string): void {
    this.dialing.add(e.key);
    connectLink({
      address: e.address,
      hostkey: this.hostkey,
      protocol: PROTOCOL,
      powBits: this.cfg.powBits,
      log: this.log,
      limits: this.limits,
      // The port peers are told (p2p_advertise: a NAT may forward another one than we bind).
      listenPort: this.cfg.p2pAdvertise.port || (this.listener?.port ?? 0),
      expectIdentity: e.identity ? fromHex(e.identity) : undefined,
    }).then(
      (link) => {
        this.dialing.delete(e.key);
        if (this.stopped) return link.close('shutting down');
        this.book.succeeded(e.key, link.peerId);
        link.onClose((reason) => {
          if (/full|duplicate/.test(reason)) this.book.failed(e.key);
          else this.book.rest(e.key);
        });
        this.addNeighbour(link, source);
      },
      (err: Error) => {
        this.dialing.delete(e.key);
        this.log.debug(`dial ${e.key} failed: ${err.message}`);
        if (/ourselves/.test(err.message)) this.book.remove(e.key);
        else this.book.failed(e.key);
      },
    );
  }

  private addNeighbour(link: Link, source?: string): void {
    if (link.closed || this.stopped) return;
    gossipStats.linksOpened++;
    link.onMessage((type, body) => this.onFrame(link, type, body));
    const existing = this.neighbours.get(link.peerId);
    if (existing && !this.preferNew(existing, link)) {
      link.close('duplicate link');
      return;
    }
    if (existing) existing.close('duplicate link');
    if (!existing && !link.initiator && this.neighbours.size >= this.cfg.maxConnections) {
      // Full: answer its peer exchange so it can find others, then close.
      this.turnedAway.add(link);
      setTimeout(() => link.close('full'), FULL_GRACE_MS).unref();
      return;
    }
    this.neighbours.set(link.peerId, link);
    if (source) this.dialSource.set(link.peerId, source);
    if (!link.initiator && link.peerListenPort > 0) {
      this.book.learn({ host: link.remoteHost, port: link.peerListenPort }, link.peerId, link.peerId);
    }
    link.onClose((reason) => {
      if (this.neighbours.get(link.peerId) !== link) return;
      this.neighbours.delete(link.peerId);
      this.dialSource.delete(link.peerId);
      this.log.debug(`neighbour ${link.peerId.slice(0, 12)} gone: ${reason}`);
    });
    this.askPeers(link);
  }

  /** Both ends keep the link dialled by the smaller identity; one dialler twice keeps the older. */
  private preferNew(old: Link, fresh: Link): boolean {
    const dialler = (l: Link) => (l.initiator ? this.ownId : l.peerId);
    if (dialler(old) === dialler(fresh)) return false;
    return dialler(fresh) < dialler(old);
  }

  private onFrame(link: Link, type: number, body: Uint8Array): void {
    if (type === GossipType.PEERS_REQUEST) this.answerPeers(link);
    else if (type === GossipType.PEERS) this.onPeers(link, body);
    // Frames on a link about to close (full, duplicate) are ignored.
    else if (this.neighbours.get(link.peerId) === link) this.events.onFrame(link, type, body);
  }

  private askPeers(link: Link | undefined): void {
    if (!link || this.pexAsked.has(link)) return;
    this.pexAsked.add(link);
    if (link.send(GossipType.PEERS_REQUEST, new Uint8Array(0))) gossipStats.peersRequestsSent++;
  }

  private answerPeers(link: Link): void {
    const now = Date.now();
    // Asked again within a second: an empty answer (cheap, and the asker is not left waiting).
    if (now - (this.pexAnsweredAt.get(link) ?? 0) < 1000)
      return void link.send(GossipType.PEERS, encodePeers([]));
    this.pexAnsweredAt.set(link, now);
    const records = new Map<string, PeerRecord>();
    for (const n of shuffle(this.links())) {
      if (n === link || n.peerListenPort === 0) continue;
      records.set(n.peerId, {
        identity: n.peerIdentity,
        address: { host: n.remoteHost, port: n.peerListenPort },
      });
    }
    for (const e of this.book.sample(MAX_PEERS)) {
      if (e.identity !== link.peerId && !records.has(e.identity!))
        records.set(e.identity!, { identity: fromHex(e.identity!), address: e.address });
    }
    // encodePeers takes the first MAX_PEERS records it can encode (names have no wire form).
    link.send(GossipType.PEERS, encodePeers(shuffle([...records.values()])));
    if (this.turnedAway.has(link)) link.close('full');
  }

  private onPeers(link: Link, body: Uint8Array): void {
    if (!this.pexAsked.has(link)) throw new LinkViolation('unsolicited PEERS');
    this.pexAsked.delete(link);
    let learnt = 0;
    for (const r of decodePeers(body)) {
      if (!isDialable(r.address, this.cfg.dialPrivateAddresses)) continue;
      if (this.book.learn(r.address, Buffer.from(r.identity).toString('hex'), link.peerId)) learnt++;
    }
    const interval = this.cfg.pexIntervalMs;
    this.pexDelayMs = learnt > 0 ? interval : Math.min(2 * this.pexDelayMs, MAX_PEX_BACKOFF * interval);
    // Only new addresses are worth a dial now; maintain() itself asks again only when pex is due.
    if (learnt > 0 && this.neighbours.size < this.cfg.degree) queueMicrotask(() => this.maintain());
  }

  /** How many dialled neighbours are charged to each source (the eclipse cap applies to these). */
  sourceCounts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const s of this.dialSource.values()) m.set(s, (m.get(s) ?? 0) + 1);
    return m;
  }

  describe(): string {
    return `${this.neighbours.size} neighbours, ${this.book.size} known, ${this.dialing.size} dialing (${formatAddress(this.cfg.p2pAddress)})`;
  }
}

/**
 * Whether we may dial an address a peer told us. Loopback, private, link-local, multicast and
 * unspecified addresses are refused unless dial_private_addresses (default: our own p2p_address is
 * such an address, as on a testnet): otherwise any peer could make every relay of the network
 * connect into its own machine or LAN. Bootstrappers come from the config and are not checked.
 */
function isDialable(a: HostPort, allowPrivate: boolean): boolean {
  if (a.port === 0 || a.host === '0.0.0.0' || a.host === '::') return false;
  return allowPrivate || !isPrivateAddress(a.host);
}
