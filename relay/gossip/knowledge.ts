// The knowledge base: at most cache_size items, oldest out, keyed by item id = SHA-256(type || data);
// plus a larger bounded "seen" set so an evicted item is still not delivered or spread twice.
import { createHash } from 'node:crypto';

export interface Item {
  /** Hex of idBytes: map key. */
  id: string;
  idBytes: Uint8Array;
  dataType: number;
  data: Uint8Array;
  /** TTL to put on copies we send: 0 unlimited, else >= 1. Meaningless unless forwardable. */
  ttl: number;
  /** Validated (or announced here) and hops left: may be pushed and served to pulls. */
  forwardable: boolean;
  /** Neighbours (peer ids) known to hold the item: sent to them, or received from them. */
  knownBy: Set<string>;
}

export function itemId(dataType: number, data: Uint8Array): Uint8Array {
  const t = Buffer.from([dataType >> 8, dataType & 0xff]);
  return new Uint8Array(createHash('sha256').update(t).update(data).digest());
}

export function newItem(dataType: number, data: Uint8Array, ttl: number, forwardable: boolean): Item {
  const idBytes = itemId(dataType, data);
  return {
    id: Buffer.from(idBytes).toString('hex'),
    idBytes,
    dataType,
    data,
    ttl,
    forwardable,
    knownBy: new Set(),
  };
}

/** TTL for the next hop of an item received with `ttl`: undefined when it must go no further. */
export function onwardTtl(ttl: number): number | undefined {
  if (ttl === 0) return 0;
  return ttl > 1 ? ttl - 1 : undefined;
}

/** Insertion-ordered map with a size cap: adding beyond it drops the oldest entry. */
export class BoundedMap<V> {
  private readonly map = new Map<string, V>();
  constructor(readonly cap: number) {}

  get size(): number {
    return this.map.size;
  }
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  has(k: string): boolean {
    return this.map.has(k);
  }
  delete(k: string): boolean {
    return this.map.delete(k);
  }
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    while (this.map.size > this.cap) this.map.delete(this.map.keys().next().value!);
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
}

export class KnowledgeBase {
  readonly items: BoundedMap<Item>;
  private readonly seen: BoundedMap<true>;
  /** Ids held per data type, oldest first. */
  private readonly byType = new Map<number, Set<string>>();
  /** Most items one data type may keep once the cache is full: half of cache_size. */
  readonly perTypeCap: number;

  constructor(cacheSize: number) {
    this.items = new BoundedMap(cacheSize);
    this.seen = new BoundedMap(Math.max(4096, 16 * cacheSize));
    this.perTypeCap = Math.max(1, Math.floor(cacheSize / 2));
  }

  hasSeen(id: string): boolean {
    return this.seen.has(id);
  }
  markSeen(id: string): void {
    this.seen.set(id, true);
  }
  /** Forget a seen id that was never delivered (e.g. dropped under load), so it may come again. */
  unsee(id: string): void {
    this.seen.delete(id);
  }

  /**
   * Oldest out, but with a per-type quota: all data types share one cache, and without it a flood
   * of items of one type (any that a local subscriber lets through) would evict every NSE, RPS and
   * presence item. A type may fill a cache nobody else uses; once the cache is full, a type holding
   * perTypeCap items or more only replaces its own oldest, and a type holding more gives way first.
   */
  store(item: Item): void {
    if (this.items.has(item.id)) {
      this.items.set(item.id, item); // same id, same type: counts unchanged
      return;
    }
    if (this.items.size >= this.items.cap) {
      const own = this.byType.get(item.dataType)?.size ?? 0;
      const over = own >= this.perTypeCap ? item.dataType : this.overQuotaType();
      const victim = over === undefined ? this.items.values().next().value : this.oldestOf(over);
      if (victim) this.remove(victim.id);
    }
    this.items.set(item.id, item);
    const ids = this.byType.get(item.dataType);
    if (ids) ids.add(item.id);
    else this.byType.set(item.dataType, new Set([item.id]));
  }
  get(id: string): Item | undefined {
    return this.items.get(id);
  }

  private remove(id: string): void {
    const item = this.items.get(id);
    if (!item) return;
    this.items.delete(id);
    const ids = this.byType.get(item.dataType)!;
    ids.delete(id);
    if (ids.size === 0) this.byType.delete(item.dataType);
  }

  private oldestOf(dataType: number): Item | undefined {
    const id = this.byType.get(dataType)?.values().next().value;
    return id === undefined ? undefined : this.items.get(id);
  }

  /** The type holding more than perTypeCap items, if any (at most one can). */
  private overQuotaType(): number | undefined {
    for (const [t, ids] of this.byType) if (ids.size > this.perTypeCap) return t;
    return undefined;
  }
}
