// Periodic work of a DHT node: drop expired values, republish our own values before replicas can
// lapse, refresh quiet buckets with a lookup of a random id inside them, re-bootstrap when the
// table ran empty, and hand values to newly met nodes that are among the k closest to them
// (Kademlia §2.5), so data follows the membership as nodes join.
import { randomBytes } from 'node:crypto';
import type { DhtNode } from './node.ts';
import type { Contact } from './routing.ts';
import type { StoredValue } from './storage.ts';
import { compareDistance, idEquals, randomIdInBucket } from './xor.ts';

const TICK_MS = 1000;
const MAX_JOINED = 256;
/** We hand a value to a joiner only if we are among this many closest known holders (fewer duplicates). */
const HANDOVER_RANK = 2;
const REFRESH_PER_TICK = 2;
const HANDOVER_DELAY_MS = 50;
const MAX_HANDOVER_VALUES = 2000;
/** Hand-over STOREs in flight at once: a batch can hold thousands, and all at once would fill the
 * pool's cap on requests in flight (then every other request fails). */
const HANDOVER_STORES = 8;
const MIN_REJOIN_MS = 2000;
const MAX_REJOIN_MS = 60_000;

export class Upkeep {
  private timer: NodeJS.Timeout | undefined;
  private readonly joinedQueue: Contact[] = [];
  private busy = false;
  private handoverTimer: NodeJS.Timeout | undefined;
  private handing: Promise<void> | undefined;
  private joinBackoff = MIN_REJOIN_MS;
  private nextJoin = 0;

  constructor(private readonly node: DhtNode) {}

  start(): void {
    for (let b = 0; b < 256; b++) this.node.routing.touchBucket(b); // just bootstrapped: all fresh
    this.timer = setInterval(() => void this.tick(), Math.min(TICK_MS, this.node.cfg.republishSeconds * 500));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.handoverTimer);
    this.timer = undefined;
  }

  /** A contact entered the routing table. */
  joined(c: Contact): void {
    if (!this.timer) return; // during start-up the self-lookup meets everyone: nothing stored to hand over yet
    // Once per id: a queued copy per sighting would multiply the hand-over STOREs.
    const i = this.joinedQueue.findIndex((q) => idEquals(q.id, c.id));
    if (i >= 0) this.joinedQueue[i] = c;
    else if (this.joinedQueue.length < MAX_JOINED) this.joinedQueue.push(c);
    // Hand over soon (batched), not only on the next tick: a joiner should not wait for data.
    this.handoverTimer ??= setTimeout(() => {
      this.handoverTimer = undefined;
      void this.handover().catch((e) => this.node.log.warn(`handover: ${(e as Error).message}`));
    }, HANDOVER_DELAY_MS);
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // one round at a time: a slow round must not pile up
    this.busy = true;
    try {
      const n = this.node;
      n.store.expire();
      if (n.routing.size === 0 && n.cfg.bootstrappers.length > 0 && Date.now() >= this.nextJoin) {
        // Alone: rejoin, backing off exponentially while the bootstrappers stay unreachable.
        await n.bootstrap();
        this.joinBackoff = n.routing.size > 0 ? MIN_REJOIN_MS : Math.min(this.joinBackoff * 2, MAX_REJOIN_MS);
        this.nextJoin = Date.now() + this.joinBackoff;
      }
      await Promise.all([this.republish(), this.handover(), this.refresh()]);
    } catch (e) {
      this.node.log.warn(`upkeep: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private async republish(): Promise<void> {
    const n = this.node;
    const due = n.store
      .values()
      .filter((v) => v.published && Date.now() - v.lastPushed >= n.cfg.republishSeconds * 1000);
    await Promise.all(due.map((v) => n.replicate(v, v.replication).catch(() => 0)));
  }

  /** One hand-over run at a time (joiners queued meanwhile wait for the next batch), so at most
   * HANDOVER_STORES hand-over STOREs are in flight in all. */
  private handover(): Promise<void> {
    this.handing ??= this.handOverQueued().finally(() => {
      this.handing = undefined;
    });
    return this.handing;
  }

  private async handOverQueued(): Promise<void> {
    const n = this.node;
    while (this.timer && this.joinedQueue.length > 0) {
      const joiners = this.joinedQueue.splice(0);
      const jobs: [Contact, StoredValue][] = [];
      // Bounded work per batch: each value costs a scan of the routing table.
      for (const v of n.store.values().slice(0, MAX_HANDOVER_VALUES)) {
        const known = n.routing.closest(v.key, n.cfg.k + joiners.length + 1);
        for (const j of joiners) {
          const others = known.filter((c) => !idEquals(c.id, j.id));
          const inK = others.length < n.cfg.k || compareDistance(v.key, j.id, others[n.cfg.k - 1]!.id) < 0;
          const selfRank = others.filter((c) => compareDistance(v.key, c.id, n.id) < 0).length;
          if (inK && selfRank < HANDOVER_RANK) jobs.push([j, v]);
        }
      }
      let next = 0;
      const worker = async () => {
        while (this.timer && next < jobs.length) {
          const [j, v] = jobs[next++]!;
          await n.storeAt(j, v);
        }
      };
      await Promise.all(Array.from({ length: HANDOVER_STORES }, worker));
    }
  }

  private async refresh(): Promise<void> {
    const n = this.node;
    const stale = n.routing.staleBuckets(n.cfg.refreshSeconds * 1000).slice(0, REFRESH_PER_TICK);
    for (const b of stale) n.routing.touchBucket(b);
    await Promise.all(
      stale.map((b) =>
        n
          .findNodes(
            randomIdInBucket(n.id, b, (len) => new Uint8Array(randomBytes(len))),
            n.cfg.k,
          )
          .catch(() => undefined),
      ),
    );
  }
}
