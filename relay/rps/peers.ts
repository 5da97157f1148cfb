// The history: every peer this relay has learnt (from Gossip, pushes, pulls or its store), keyed
// by hex identity, each with its newest verified record and when it last answered a probe.
// Bounded; a peer that failed a probe is tombstoned until it signs a newer record than the one
// that died, so stale copies of its record circulating in views cannot bring it back.
import type { PeerRecord } from './record.ts';

export interface PeerEntry {
  record: PeerRecord;
  /** Local ms time of the last answered probe; 0 = never probed. */
  lastAlive: number;
  /** Requests timed out in a row (reset by any sign of life). */
  timeouts: number;
  /** Local ms time a new record of this peer last arrived. */
  heard: number;
}

export type AddResult = 'new' | 'updated' | 'stale' | 'self' | 'dead' | 'full';

export class PeerTable {
  private readonly entries = new Map<string, PeerEntry>();
  /** id -> time of the newest record we held when it died, and local time of death. */
  private readonly tombstones = new Map<string, { time: number; at: number }>();

  constructor(
    private readonly selfId: string,
    private readonly maxPeers: number,
    /** An entry neither probed alive nor re-announced for this long may be evicted when full. */
    private readonly staleAfterMs: number,
    /** How long a tombstone blocks old records (after that they may return, to be probed again). */
    private readonly tombstoneMs = staleAfterMs,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(id: string): PeerEntry | undefined {
    return this.entries.get(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  ids(): IterableIterator<string> {
    return this.entries.keys();
  }

  all(): IterableIterator<PeerEntry> {
    return this.entries.values();
  }

  isDead(id: string, time: number, now: number): boolean {
    const t = this.tombstones.get(id);
    return t !== undefined && time <= t.time && now - t.at < this.tombstoneMs;
  }

  /**
   * Learn or refresh a peer. `lastAlive` > 0 means the peer itself just proved it is alive (an
   * authenticated push), which lifts a tombstone.
   */
  add(record: PeerRecord, now: number, lastAlive = 0): AddResult {
    if (record.id === this.selfId) return 'self';
    if (lastAlive === 0 && this.isDead(record.id, record.time, now)) return 'dead';
    const cur = this.entries.get(record.id);
    if (cur) {
      cur.lastAlive = Math.max(cur.lastAlive, lastAlive);
      if (lastAlive > 0) cur.timeouts = 0;
      if (record.time <= cur.record.time) return 'stale';
      cur.record = record;
      cur.heard = now;
      return 'updated';
    }
    if (this.entries.size >= this.maxPeers && !this.evictOne(now)) return 'full';
    this.tombstones.delete(record.id);
    this.entries.set(record.id, { record, lastAlive, heard: now, timeouts: 0 });
    return 'new';
  }

  markAlive(id: string, now: number): void {
    const e = this.entries.get(id);
    if (e) {
      e.lastAlive = now;
      e.timeouts = 0;
    }
  }

  /** Failed probe: forget the peer until it signs a newer record. */
  markDead(id: string, now: number): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    this.entries.delete(id);
    this.tombstones.delete(id);
    this.tombstones.set(id, { time: e.record.time, at: now });
    // Bounded: the oldest tombstones go first (Map keeps insertion order).
    while (this.tombstones.size > this.maxPeers) {
      this.tombstones.delete(this.tombstones.keys().next().value!);
    }
    return true;
  }

  /** Drop the entry with the oldest sign of life, if it is stale; false if none is. */
  private evictOne(now: number): boolean {
    let worst: PeerEntry | undefined;
    let worstLife = Number.POSITIVE_INFINITY;
    for (const e of this.entries.values()) {
      const life = Math.max(e.lastAlive, e.heard);
      if (life < worstLife) {
        worst = e;
        worstLife = life;
      }
    }
    if (!worst || now - worstLife < this.staleAfterMs) return false;
    this.entries.delete(worst.record.id);
    return true;
  }
}
