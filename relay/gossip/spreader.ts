// The item pipeline. Local ANNOUNCE: notify the other local subscribers and push at once. Item from
// a peer: notify local subscribers, wait for their verdicts, and only when every one that answered
// said V=1 (at least one, none V=0) store it as forwardable and push it on, with the TTL decremented.
// Plus the periodic digest/pull that lets a late joiner catch up on the knowledge base.
import type { GossipAnnounce } from '../../shared/wire/types.ts';
import type { Logger } from '../log.ts';
import { type Link, LinkViolation } from '../p2p/index.ts';
import type { GossipConfig } from './config.ts';
import { type Item, KnowledgeBase, newItem, onwardTtl } from './knowledge.ts';
import { type Digest, encodeDigest, encodePush, GossipType, PUSH_FIXED, type Push } from './protocol.ts';
import { gossipStats } from './stats.ts';
import type { Subscriptions } from './subscriptions.ts';

/** A peer whose items local subscribers reject this often is dropped. */
/** A peer is dropped after this many rejected items within one INVALID_WINDOW_MS. */
export const MAX_INVALID_PER_LINK = 32;
/**
 * Rejections are counted per window, not forever: honest peers do forward items that later turn
 * stale (e.g. an NSE claim of a past round), and a long-lived link must not die of that.
 */
export const INVALID_WINDOW_MS = 60_000;
/** DIGESTs closer together than this are ignored (an honest relay sends one per pull interval). */
const MIN_DIGEST_GAP_MS = 100;

interface Pending {
  item: Item;
  pulled: boolean;
  from: Link;
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
}

export class Spreader {
  readonly kb: KnowledgeBase;
  private readonly pending = new Map<string, Pending>();
  private readonly peers = new WeakMap<Link, PeerState>();
  private readonly maxPending: number;
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
    const item = newItem(p.dataType, p.data, p.ttl, false);
    const known = this.kb.get(item.id) ?? this.pending.get(item.id)?.item;
    if (known) known.knownBy.add(link.peerId);
    if (this.kb.hasSeen(item.id)) return;
    if (!this.subs.has(p.dataType)) return; // nobody here wants it: neither delivered nor forwarded
    if (this.pending.size >= this.maxPending) {
      this.log.debug(`validation queue full: item ${item.id.slice(0, 12)} dropped`);
      return;
    }
    item.knownBy.add(link.peerId);
    this.kb.markSeen(item.id);
    this.counts.received++;
    const awaiting = new Set(this.subs.notify(item.dataType, item.data, item.id));
    if (awaiting.size === 0) {
      this.kb.unsee(item.id);
      return;
    }
    const timer = setTimeout(() => this.settle(item.id), this.cfg.validationTimeoutMs);
    timer.unref();
    this.pending.set(item.id, { item, pulled: p.pulled, from: link, awaiting, anyValid: false, timer });
  }

  /** A subscriber's verdict on one of its notifications. */
  validation(connId: number, messageId: number, valid: boolean): void {
    const id = this.subs.answer(connId, messageId);
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
  }

  private reject(p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(p.item.id);
    const st = this.state(p.from);
    this.log.debug(
      `item ${p.item.id.slice(0, 12)} from ${p.from.peerId.slice(0, 12)} marked invalid: dropped`,
    );
    if (p.pulled) return; // we asked for those: stale answers are not the peer's attack
    const now = Date.now();
    if (now - st.invalidSince > INVALID_WINDOW_MS) {
      st.invalid = 0;
      st.invalidSince = now;
    }
    if (++st.invalid > MAX_INVALID_PER_LINK)
      p.from.violation(`sent ${st.invalid} items our subscribers rejected within a minute`);
  }

  /** All verdicts in (or timed out): forward if at least one subscriber said valid and none invalid. */
  private settle(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (!p.anyValid) return;
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
      st = { invalid: 0, invalidSince: Date.now(), pullBudget: 0, pullTypes: new Set(), lastDigestAt: 0 };
      this.peers.set(link, st);
    }
    return st;
  }
}
