// Kademlia routing table: one k-bucket per common-prefix length with our id (256 buckets; the
// far ones fill, the near ones stay sparse). Each bucket is ordered least-recently-seen first.
// A full bucket keeps its LRS contact while it is alive: a newcomer goes to a bounded replacement
// cache and the LRS is pinged; only if that ping fails is it evicted (long-lived nodes tend to stay,
// and an attacker cannot flush a bucket by showing up with many new ids).
// Only contacts that proved their identity over an authenticated link are ever inserted.
import { netGroup } from './netgroup.ts';
import { commonPrefixLength, ID_BITS, idEquals, sortByDistance } from './xor.ts';

export interface Contact {
  readonly id: Uint8Array;
  /** The peer's DHT P2P listen address. */
  readonly host: string;
  readonly port: number;
}

interface Entry {
  contact: Contact;
  lastSeen: number;
  fails: number;
}

interface Bucket {
  entries: Entry[];
  replacements: Contact[];
  pinging: boolean;
  lastTouched: number;
}

export interface RoutingTableOptions {
  k: number;
  /** Consecutive request failures after which a contact is dropped even without a replacement. */
  maxFails?: number;
  /** Checks whether a contact is alive (used before evicting a bucket's LRS contact). */
  ping: (c: Contact) => Promise<boolean>;
  now?: () => number;
  onAdded?: (c: Contact) => void;
  /** Most contacts at one IP address, and in one /24 (IPv4) or /48 (IPv6); loopback is exempt. */
  maxPerIp?: number;
  maxPerSubnet?: number;
}

const sameAddress = (a: Contact, b: Contact) => a.host === b.host && a.port === b.port;

export class RoutingTable {
  private readonly buckets: Bucket[] = Array.from({ length: ID_BITS }, () => ({
    entries: [],
    replacements: [],
    pinging: false,
    lastTouched: 0,
  }));
  private readonly k: number;
  private readonly maxFails: number;
  private readonly now: () => number;

  constructor(
    readonly self: Uint8Array,
    private readonly opts: RoutingTableOptions,
  ) {
    this.k = opts.k;
    this.maxFails = opts.maxFails ?? 2;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.buckets.reduce((n, b) => n + b.entries.length, 0);
  }

  bucketIndex(id: Uint8Array): number {
    return Math.min(commonPrefixLength(this.self, id), ID_BITS - 1);
  }

  has(id: Uint8Array): boolean {
    return this.find(id) !== undefined;
  }

  get(id: Uint8Array): Contact | undefined {
    return this.find(id)?.contact;
  }

  all(): Contact[] {
    return this.buckets.flatMap((b) => b.entries.map((e) => e.contact));
  }

  /** The n known contacts closest to target. */
  closest(target: Uint8Array, n: number, exclude?: (c: Contact) => boolean): Contact[] {
    const all = this.all().filter((c) => !exclude?.(c));
    return sortByDistance(target, all).slice(0, n);
  }

  /** We heard from this (authenticated) contact: refresh it, insert it, or queue it as replacement. */
  seen(contact: Contact): void {
    if (idEquals(contact.id, this.self)) return;
    const b = this.buckets[this.bucketIndex(contact.id)]!;
    b.lastTouched = this.now();
    const i = b.entries.findIndex((e) => idEquals(e.contact.id, contact.id));
    if (i >= 0) {
      const old = b.entries[i]!.contact;
      b.entries.splice(i, 1);
      // A known id moving to a crowded address keeps the address we had.
      const keep = !sameAddress(old, contact) && this.crowded(contact, old) ? old : contact;
      b.entries.push({ contact: keep, lastSeen: this.now(), fails: 0 });
      // A known contact with a new address is not a newcomer: no onAdded (hand-over), or a peer
      // alternating two links with different listen ports would trigger one per message.
      return;
    }
    if (this.crowded(contact)) return;
    if (b.entries.length < this.k) {
      b.entries.push({ contact, lastSeen: this.now(), fails: 0 });
      this.opts.onAdded?.(contact);
      return;
    }
    this.addReplacement(b, contact);
    this.pingLeastRecent(b);
  }

  /** A request to this contact failed (timeout, refused, bad identity). It counts only if it went to
   * the address we hold for that id: a NODES reply may name a known id with a bogus address, and
   * a failed dial there says nothing about the real node. */
  failed(c: Contact): void {
    const b = this.buckets[this.bucketIndex(c.id)]!;
    const i = b.entries.findIndex((e) => idEquals(e.contact.id, c.id));
    if (i < 0) {
      b.replacements = b.replacements.filter((r) => !(idEquals(r.id, c.id) && sameAddress(r, c)));
      return;
    }
    const e = b.entries[i]!;
    if (!sameAddress(e.contact, c)) return;
    e.fails++;
    if (e.fails >= this.maxFails || b.replacements.length > 0) this.evict(b, i);
  }

  /** Indices of buckets not touched for `olderThanMs` that are worth refreshing (non-empty or near us). */
  staleBuckets(olderThanMs: number): number[] {
    const t = this.now();
    const out: number[] = [];
    const deepest = this.deepestNonEmpty();
    this.buckets.forEach((b, i) => {
      if (i > deepest + 1) return;
      if (t - b.lastTouched >= olderThanMs) out.push(i);
    });
    return out;
  }

  touchBucket(i: number): void {
    const b = this.buckets[i];
    if (b) b.lastTouched = this.now();
  }

  private deepestNonEmpty(): number {
    for (let i = ID_BITS - 1; i >= 0; i--) if (this.buckets[i]!.entries.length > 0) return i;
    return -1;
  }

  private find(id: Uint8Array): Entry | undefined {
    return this.buckets[this.bucketIndex(id)]!.entries.find((e) => idEquals(e.contact.id, id));
  }

  private addReplacement(b: Bucket, contact: Contact): void {
    b.replacements = b.replacements.filter((c) => !idEquals(c.id, contact.id));
    b.replacements.push(contact);
    if (b.replacements.length > this.k) b.replacements.shift(); // bounded, newest kept
  }

  /**
   * Whether the table already holds the most contacts allowed at this contact's IP or subnet
   * (`except`: an entry about to be replaced, not counted). Scans the table: only for newcomers.
   */
  private crowded(c: Contact, except?: Contact): boolean {
    const { maxPerIp, maxPerSubnet } = this.opts;
    const g = netGroup(c.host);
    if (!g || (maxPerIp === undefined && maxPerSubnet === undefined)) return false;
    let ip = 0;
    let subnet = 0;
    for (const b of this.buckets) {
      for (const e of b.entries) {
        if (e.contact === except) continue;
        const h = netGroup(e.contact.host);
        if (!h || h.subnet !== g.subnet) continue;
        subnet++;
        if (h.ip === g.ip) ip++;
      }
    }
    return (
      ip >= (maxPerIp ?? Number.POSITIVE_INFINITY) || subnet >= (maxPerSubnet ?? Number.POSITIVE_INFINITY)
    );
  }

  private evict(b: Bucket, i: number): void {
    b.entries.splice(i, 1);
    let next = b.replacements.pop();
    while (next && this.crowded(next)) next = b.replacements.pop();
    if (next) {
      b.entries.push({ contact: next, lastSeen: this.now(), fails: 0 });
      this.opts.onAdded?.(next);
    }
  }

  private pingLeastRecent(b: Bucket): void {
    if (b.pinging || b.entries.length === 0) return;
    b.pinging = true;
    const lrs = b.entries[0]!.contact;
    this.opts
      .ping(lrs)
      .catch(() => false)
      .then((alive) => {
        b.pinging = false;
        const i = b.entries.findIndex((e) => idEquals(e.contact.id, lrs.id));
        if (i < 0) return;
        if (alive) {
          const [e] = b.entries.splice(i, 1);
          b.entries.push({ ...e!, lastSeen: this.now(), fails: 0 });
        } else {
          this.evict(b, i);
        }
      });
  }
}
