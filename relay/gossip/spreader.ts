// The item pipeline. Local ANNOUNCE: notify the other local subscribers and push at once. Item from
// a peer: notify local subscribers, wait for their verdicts, and only when every one that answered
// said V=1 (at least one, none V=0) store it as forwardable and push it on, with the TTL decremented.
// Plus the periodic digest/pull that lets a late joiner catch up on the knowledge base.
import type { GossipAnnounce } from '../../shared/wire/types.ts';
import type { Logger } from '../log.ts';
import { type Link, LinkViolation } from '../p2p/index.ts';
import type { GossipConfig } from './config.ts';
import { type Item, KnowledgeBase, newItem, onwardTtl } from './knowledge.ts';
import { BoundedMap } from './knowledge.ts';
import {
  type Digest,
  encodeDigest,
  encodeIHave,
  encodeIWant,
  encodePush,
  GossipType,
  MAX_LAZY_IDS,
  type Offer,
  PUSH_FIXED,
  type Push,
} from './protocol.ts';
import { gossipStats } from './stats.ts';
import type { Subscriptions } from './subscriptions.ts';

/** A peer is dropped after this many rejected items within one INVALID_WINDOW_MS. */
export const MAX_INVALID_PER_LINK = 32;
/**
 * Rejections are counted per window, not forever: honest peers do forward items that later turn
 * stale (e.g. an NSE claim of a past round), and a long-lived link must not die of that.
 */
export const INVALID_WINDOW_MS = 60_000;
/** DIGESTs closer together than this are ignored (an honest relay sends one per pull interval). */
const MIN_DIGEST_GAP_MS = 100;
/**
 * IHAVEs wait this long, batched per neighbour: one frame for a burst of items, and none at all for
 * an item the neighbour meanwhile sent us itself (most do, through its other neighbours' pushes).
 */
const LAZY_FLUSH_MS = 100;
/** Ids offered to a neighbour that it may still ask for (IWANT), per neighbour. */
const MAX_OFFERED = 1024;
/** After an IWANT for an id, other IHAVEs of it are ignored this long (one copy is enough). */
const WANT_RETRY_MS = 1000;
/** Local subscribers that answered any VALIDATION this recently are answering (not stalled). */
const ANSWERING_MS = 10_000;
/** The smallest share of the validation queue any neighbour is granted. */
const MIN_QUEUE_SHARE = 4;

interface Pending {
  item: Item;
  pulled: boolean;
  from: Link;
  fromState: PeerState;
  awaiting: Set<number>;
  anyValid: boolean;
  timer: NodeJS.Timeout;
}

interface PeerState {
  invalid: number;
  invalidSince: number;
  pullBudget: number;
  pullTypes: Set<number>;
  lastDigestAt: number;
  /** Token bucket of this neighbour's PUSH frames: push_rate per second, burst 2x. */
  pushTokens: number;
  pushRefillAt: number;
  /** This neighbour's items in the validation queue (bounded by its fair share). */
  pending: number;
  /** Ids we offered it in IHAVE that it may ask for once (IWANT), oldest first. */
  offered: Set<string>;
  /** Items to offer (IHAVE) at the next flush. */
  lazy: Item[];
}

export class Spreader {
  readonly kb: KnowledgeBase;
  private readonly pending = new Map<string, Pending>();
  private readonly peers = new WeakMap<Link, PeerState>();
  private readonly maxPending: number;
  /** When a local subscriber last answered a VALIDATION (is anyone here answering at all?). */
  private lastVerdictAt = 0;
  /** Ids we sent an IWANT for, and when. */
  private readonly wanted = new BoundedMap<number>(4096);
  private readonly lazyLinks = new Set<Link>();
  private lazyTimer: NodeJS.Timeout | undefined;
  /** This instance's counters (gossipStats sums every instance in the process): status lines. */
  readonly counts = { announced: 0, received: 0, sent: 0, digests: 0 };

  constructor(
    private readonly cfg: GossipConfig,
    private readonly subs: Subscriptions,
    private readonly neighbours: () => Link[],
    private readonly log: Logger,
  ) {
    this.kb = new KnowledgeBase(cfg.cacheSize);
    this.maxPending = Math.max(256, 4 * cfg.cacheSize);
  }

  announce(connId: number, msg: GossipAnnounce): void {
    const item = newItem(msg.dataType, msg.data, msg.ttl, true);
    if (this.kb.hasSeen(item.id)) return; // already known: delivered and spread before
    this.kb.markSeen(item.id);
    this.kb.store(item);
    this.counts.announced++;
    this.subs.notify(item.dataType, item.data, item.id, connId);
    this.push(item);
  }

  /** Items waiting for their subscribers' verdicts. */
  get validating(): number {
    return this.pending.size;
  }

  onPush(link: Link, p: Push): void {
    const st = this.state(link);
    if (p.pulled) {
      if (st.pullBudget <= 0) throw new LinkViolation('unsolicited pulled item');
      if (!st.pullTypes.has(p.dataType))
        throw new LinkViolation(`pulled item of unrequested type ${p.dataType}`);
      st.pullBudget--;
    }
    // Per neighbour, not only per link frame rate: pushes are what cost us hashing and validation.
    if (!this.takePushToken(st)) {
      gossipStats.pushesDropped++;
      return;
    }
    const item = newItem(p.dataType, p.data, p.ttl, false);
    const known = this.kb.get(item.id) ?? this.pending.get(item.id)?.item;
    if (known) known.knownBy.add(link.peerId);
    if (this.kb.hasSeen(item.id)) return;
    if (!this.subs.has(p.dataType)) return; // nobody here wants it: neither delivered nor forwarded
    // Each neighbour gets a fair share of the queue, so one cannot crowd out the others' items.
    if (st.pending >= this.queueShare() || this.pending.size >= this.maxPending) {
      gossipStats.validationDropped++;
      this.log.debug(`validation queue (share) full: item ${item.id.slice(0, 12)} dropped`);
      return;
    }
    this.wanted.delete(item.id);
    item.knownBy.add(link.peerId);
    this.kb.markSeen(item.id);
    this.counts.received++;
    const awaiting = new Set(this.subs.notify(item.dataType, item.data, item.id));
    if (awaiting.size === 0) {
      this.kb.unsee(item.id);
      return;
    }
    const timer = setTimeout(() => this.settle(item.id, true), this.cfg.validationTimeoutMs);
    timer.unref();
    st.pending++;
    const entry = { item, pulled: p.pulled, from: link, fromState: st, awaiting, anyValid: false, timer };
    this.pending.set(item.id, entry);
  }

  /** IHAVE: ask (IWANT) for the offered items we lack, want (subscribed type) and did not ask for. */
  onIHave(link: Link, offers: Offer[]): void {
    const now = Date.now();
    const want: Uint8Array[] = [];
    for (const o of offers) {
      const id = Buffer.from(o.id).toString('hex');
      if (this.kb.hasSeen(id) || this.pending.has(id) || !this.subs.has(o.dataType)) continue;
      const asked = this.wanted.get(id);
      if (asked !== undefined && now - asked < WANT_RETRY_MS) continue;
      this.wanted.set(id, now);
      want.push(o.id);
    }
    if (want.length > 0 && link.send(GossipType.IWANT, encodeIWant(want))) gossipStats.iwantSent++;
  }

  /** IWANT: each id we offered this neighbour is sent once (as a PUSH); anything else is ignored. */
  onIWant(link: Link, ids: Uint8Array[]): void {
    const st = this.state(link);
    for (const idBytes of ids) {
      const id = Buffer.from(idBytes).toString('hex');
      if (!st.offered.delete(id)) continue;
      const item = this.kb.get(id);
      if (item?.forwardable) this.sendItem(link, item, false);
    }
  }

  /** A subscriber's verdict on one of its notifications. */
  validation(connId: number, messageId: number, valid: boolean): void {
    const id = this.subs.answer(connId, messageId);
    if (id !== undefined) this.lastVerdictAt = Date.now();
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p) return; // a local item, or the verdict came after the timeout
    if (!valid) {
      this.reject(p);
      return;
    }
    p.anyValid = true;
    p.awaiting.delete(connId);
    if (p.awaiting.size === 0) this.settle(p.item.id);
  }

  /** A subscriber closed: it will never answer the notifications it still owes. */
  subscriberGone(connId: number, owed: string[]): void {
    for (const id of owed) {
      const p = this.pending.get(id);
      if (!p) continue;
      p.awaiting.delete(connId);
      if (p.awaiting.size === 0) this.settle(id);
    }
  }

  onDigest(link: Link, d: Digest): void {
    const st = this.state(link);
    const now = Date.now();
    if (now - st.lastDigestAt < MIN_DIGEST_GAP_MS) return;
    st.lastDigestAt = now;
    const types = new Set(d.types);
    const have = new Set(d.ids.map((id) => Buffer.from(id).toString('hex')));
    for (const item of this.kb.items.values()) {
      if (!item.forwardable || !types.has(item.dataType) || have.has(item.id)) continue;
      if (item.knownBy.has(link.peerId)) continue;
      this.sendItem(link, item, true);
    }
  }

  /** Ask one random neighbour for the items of our subscribed types that we lack. */
  pull(): void {
    const types = this.subs.types();
    const links = this.neighbours();
    if (types.length === 0 || links.length === 0) return;
    const link = links[Math.floor(Math.random() * links.length)]!;
    const ids = [...this.kb.items.values(), ...[...this.pending.values()].map((p) => p.item)]
      .filter((i) => types.includes(i.dataType))
      .map((i) => i.idBytes);
    const st = this.state(link);
    st.pullBudget = this.cfg.cacheSize;
    st.pullTypes = new Set(types);
    if (!link.send(GossipType.DIGEST, encodeDigest({ types, ids }))) return;
    gossipStats.digestsSent++;
    this.counts.digests++;
  }

  stop(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    clearTimeout(this.lazyTimer);
    this.lazyLinks.clear();
  }

  /** Out of the validation queue (and out of its sender's share). */
  private take(id: string): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.fromState.pending--;
    return p;
  }

  private reject(p: Pending): void {
    this.take(p.item.id);
    this.log.debug(
      `item ${p.item.id.slice(0, 12)} from ${p.from.peerId.slice(0, 12)} marked invalid: dropped`,
    );
    this.blame(p, 'rejected');
  }

  /** Count an item our subscribers rejected (or ignored) against the neighbour that pushed it. */
  private blame(p: Pending, what: string): void {
    if (p.pulled) return; // we asked for those: stale answers are not the peer's attack
    const st = p.fromState;
    const now = Date.now();
    if (now - st.invalidSince > INVALID_WINDOW_MS) {
      st.invalid = 0;
      st.invalidSince = now;
    }
    if (++st.invalid > MAX_INVALID_PER_LINK)
      p.from.violation(`sent ${st.invalid} items our subscribers ${what} within a minute`);
  }

  /**
   * All verdicts in (or timed out): forward if at least one subscriber said valid and none invalid.
   * An item nobody answered within the timeout counts against its sender like a rejection (a
   * subscriber ignores what it cannot use; without this, junk of a subscribed type cost the peer
   * nothing) - but only while our subscribers answer others: a stalled local app blames nobody.
   */
  private settle(id: string, timedOut = false): void {
    const p = this.take(id);
    if (!p) return;
    if (!p.anyValid) {
      const answering =
        Date.now() - this.lastVerdictAt < Math.max(ANSWERING_MS, 2 * this.cfg.validationTimeoutMs);
      if (timedOut && answering) this.blame(p, 'left unanswered or rejected');
      return;
    }
    const ttl = onwardTtl(p.item.ttl);
    p.item.forwardable = ttl !== undefined;
    p.item.ttl = ttl ?? 0;
    this.kb.store(p.item);
    if (p.item.forwardable && !p.pulled) this.push(p.item);
  }

  /** Push to `degree` random neighbours not known to hold the item yet. */
  private push(item: Item): void {
    const fresh = this.neighbours().filter((l) => !item.knownBy.has(l.peerId));
    for (let i = fresh.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [fresh[i], fresh[j]] = [fresh[j]!, fresh[i]!];
    }
    for (const link of fresh.slice(0, this.cfg.degree)) this.sendItem(link, item, false);
    // Lazy push: the neighbours the eager push skipped hear of the item (IHAVE) and may ask for
    // it. Without it, a relay whose neighbours all had more than `degree` neighbours of their own
    // could be skipped by every one of them and wait for a pull (the coverage tail).
    if (this.cfg.lazyPush) for (const link of fresh.slice(this.cfg.degree)) this.offer(link, item);
  }

  private offer(link: Link, item: Item): void {
    const st = this.state(link);
    st.offered.delete(item.id);
    st.offered.add(item.id);
    if (st.offered.size > MAX_OFFERED) st.offered.delete(st.offered.values().next().value!);
    st.lazy.push(item);
    this.lazyLinks.add(link);
    this.lazyTimer ??= setTimeout(() => this.flushLazy(), LAZY_FLUSH_MS).unref();
  }

  private flushLazy(): void {
    this.lazyTimer = undefined;
    for (const link of this.lazyLinks) {
      const st = this.state(link);
      const offers = st.lazy
        .filter((item) => !item.knownBy.has(link.peerId))
        .map((item) => ({ dataType: item.dataType, id: item.idBytes }));
      st.lazy = [];
      if (link.closed) continue;
      for (let i = 0; i < offers.length; i += MAX_LAZY_IDS) {
        if (link.send(GossipType.IHAVE, encodeIHave(offers.slice(i, i + MAX_LAZY_IDS))))
          gossipStats.ihaveSent++;
      }
    }
    this.lazyLinks.clear();
  }

  /** A neighbour's share of the validation queue: an equal part for each, at least degree parts. */
  private queueShare(): number {
    const parts = Math.max(this.cfg.degree, this.neighbours().length);
    return Math.max(MIN_QUEUE_SHARE, Math.floor(this.maxPending / parts));
  }

  private takePushToken(st: PeerState): boolean {
    const now = Date.now();
    const burst = 2 * this.cfg.pushRate;
    st.pushTokens = Math.min(burst, st.pushTokens + ((now - st.pushRefillAt) * this.cfg.pushRate) / 1000);
    st.pushRefillAt = now;
    if (st.pushTokens < 1) return false;
    st.pushTokens--;
    return true;
  }

  private sendItem(link: Link, item: Item, pulled: boolean): void {
    if (item.data.length + PUSH_FIXED > link.maxBody) {
      this.log.warn(`item of ${item.data.length} bytes is too large for P2P: not spread`);
      return;
    }
    item.knownBy.add(link.peerId);
    const body = encodePush({ ttl: item.ttl, pulled, dataType: item.dataType, data: item.data });
    if (!link.send(GossipType.PUSH, body)) return;
    gossipStats.itemsSent++;
    this.counts.sent++;
  }

  private state(link: Link): PeerState {
    let st = this.peers.get(link);
    if (!st) {
      const now = Date.now();
      st = {
        invalid: 0,
        invalidSince: now,
        pullBudget: 0,
        pullTypes: new Set(),
        lastDigestAt: 0,
        pushTokens: 2 * this.cfg.pushRate,
        pushRefillAt: now,
        pending: 0,
        offered: new Set(),
        lazy: [],
      };
      this.peers.set(link, st);
    }
    return st;
  }
}
