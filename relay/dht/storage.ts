// The values this node holds for the DHT (as one of the k closest, or as the storer of its own
// PUTs), with absolute expiry, a per-peer byte quota and a total cap. Values from other peers are
// replicas; `published` marks the ones our own API clients PUT, which we republish until expiry.
import { toHex } from '../../shared/identity.ts';
import { netGroup } from './netgroup.ts';

export interface StoredValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Absolute expiry, ms since epoch. */
  readonly expiresAt: number;
  /** Identity (hex) of the peer that sent it; '' for our own API clients. */
  readonly from: string;
  /** IP address the peer sent it from (per-IP and per-subnet quotas); absent: ours, or loaded from disk. */
  readonly fromHost?: string;
  /** Replication wanted, for values we published; 0 for replicas. */
  readonly replication: number;
  /** Set for values our own API clients PUT: we republish them until they expire. */
  readonly published: boolean;
  /** When we last sent it out (republish / re-replication), ms since epoch. */
  lastPushed: number;
}

export interface StoreLimits {
  /** Max bytes (key + value + ENTRY_OVERHEAD per entry) one remote peer may have stored here. */
  perPeerBytes: number;
  /** Max bytes over all values. */
  totalBytes: number;
  /** Max number of keys. */
  maxEntries: number;
  /** Max quota bytes (as perPeerBytes) of all peers at one IP, and in one /24 or /48 (loopback exempt). */
  perIpBytes?: number;
  perSubnetBytes?: number;
}

export type PutOutcome = 'stored' | 'quota' | 'full';

const cost = (v: { key: Uint8Array; value: Uint8Array }) => v.key.length + v.value.length;
/** Charged per entry against the per-peer quota on top of its bytes (what an entry costs us beyond
 * them), so a peer's entries are bounded too: 1-byte values would otherwise let one peer hold
 * quota/33 entries, and a handful of identities fill max_entries. */
export const ENTRY_OVERHEAD = 128;
const quotaCost = (v: { key: Uint8Array; value: Uint8Array }) => cost(v) + ENTRY_OVERHEAD;

export class ValueStore {
  private readonly map = new Map<string, StoredValue>();
  private readonly perPeer = new Map<string, number>();
  /** Quota bytes per IP and per subnet ("ip:<hex>", "net:<hex>"). */
  private readonly perGroup = new Map<string, number>();
  private total = 0;
  /** Called after every change (persistence hooks here). */
  onChange: () => void = () => {};

  constructor(
    private readonly limits: StoreLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.total;
  }

  get(key: Uint8Array): StoredValue | undefined {
    const v = this.map.get(toHex(key));
    if (!v) return undefined;
    if (v.expiresAt <= this.now()) {
      this.remove(toHex(key));
      this.onChange();
      return undefined;
    }
    return v;
  }

  /** Store or replace a value. A replica never replaces a value we published ourselves. */
  put(v: StoredValue): PutOutcome {
    if (v.expiresAt <= this.now()) return 'stored'; // already dead: nothing to keep
    const hex = toHex(v.key);
    const old = this.map.get(hex);
    if (old?.published && !v.published) {
      // Keep our original, but a newer copy from the network may extend nothing: ours is the truth.
      return 'stored';
    }
    const oldCost = old ? cost(old) : 0;
    const oldPeer = old && old.from === v.from ? quotaCost(old) : 0;
    if (v.from !== '' && (this.perPeer.get(v.from) ?? 0) - oldPeer + quotaCost(v) > this.limits.perPeerBytes)
      return 'quota';
    if (this.overGroupQuota(v, old)) return 'quota';
    if (this.total - oldCost + cost(v) > this.limits.totalBytes) return 'full';
    if (!old && this.map.size >= this.limits.maxEntries) return 'full';
    if (old) this.remove(hex);
    this.map.set(hex, v);
    this.total += cost(v);
    if (v.from !== '') this.perPeer.set(v.from, (this.perPeer.get(v.from) ?? 0) + quotaCost(v));
    this.charge(v, 1);
    this.onChange();
    return 'stored';
  }

  /**
   * Would `v` take its sender's IP or subnet beyond its quota? Without these, identities (which
   * cost only PoW) at one address filled max_entries: ~16 of them at the default quota.
   */
  private overGroupQuota(v: StoredValue, old: StoredValue | undefined): boolean {
    const g = v.fromHost === undefined ? undefined : netGroup(v.fromHost);
    if (!g) return false;
    const sameGroup = (key: string) => {
      const og = old?.fromHost === undefined ? undefined : netGroup(old.fromHost);
      return og !== undefined && (key.startsWith('ip:') ? og.ip === g.ip : og.subnet === g.subnet);
    };
    const check = (key: string, limit: number | undefined) =>
      limit !== undefined &&
      (this.perGroup.get(key) ?? 0) - (old && sameGroup(key) ? quotaCost(old) : 0) + quotaCost(v) > limit;
    return (
      check(`ip:${g.ip}`, this.limits.perIpBytes) || check(`net:${g.subnet}`, this.limits.perSubnetBytes)
    );
  }

  private charge(v: StoredValue, sign: 1 | -1): void {
    const g = v.fromHost === undefined ? undefined : netGroup(v.fromHost);
    if (!g) return;
    for (const key of [`ip:${g.ip}`, `net:${g.subnet}`]) {
      const left = (this.perGroup.get(key) ?? 0) + sign * quotaCost(v);
      if (left > 0) this.perGroup.set(key, left);
      else this.perGroup.delete(key);
    }
  }

  /** Drop expired values; returns how many went. */
  expire(): number {
    const t = this.now();
    let n = 0;
    for (const [hex, v] of this.map) {
      if (v.expiresAt <= t) {
        this.remove(hex);
        n++;
      }
    }
    if (n > 0) this.onChange();
    return n;
  }

  values(): StoredValue[] {
    const t = this.now();
    return [...this.map.values()].filter((v) => v.expiresAt > t);
  }

  /** Quota a peer uses here: its bytes plus ENTRY_OVERHEAD per entry. */
  bytesFrom(peer: string): number {
    return this.perPeer.get(peer) ?? 0;
  }

  private remove(hex: string): void {
    const v = this.map.get(hex);
    if (!v) return;
    this.map.delete(hex);
    this.total -= cost(v);
    this.charge(v, -1);
    if (v.from !== '') {
      const left = (this.perPeer.get(v.from) ?? 0) - quotaCost(v);
      if (left > 0) this.perPeer.set(v.from, left);
      else this.perPeer.delete(v.from);
    }
  }
}
