// A DHT node: routing table + value store + peer pool, and the operations on top: bootstrap,
// GET (local, then an iterative FIND_VALUE lookup), PUT (store locally, then STORE at the closest
// nodes), and the upkeep timer (expiry, republish, bucket refresh, re-replication to joiners).
import type { Hostkey } from '../hostkey.ts';
import type { Logger } from '../log.ts';
import type { DhtConfig } from './config.ts';
import { handleRequest } from './handler.ts';
import { type FoundValue, type LookupResult, lookup, type QueryFn } from './lookup.ts';
import { StoreFile } from './persist.ts';
import { isPrivateAddress } from '../private-address.ts';
import { LocalError, PeerPool } from './peers.ts';
import { DhtType, StoreStatus } from './protocol.ts';
import { type Contact, RoutingTable } from './routing.ts';
import { type StoredValue, ValueStore } from './storage.ts';
import { Limiter } from './limiter.ts';
import { Upkeep } from './upkeep.ts';

export interface GetResult {
  value?: FoundValue;
  /** Undefined when the value was held locally. */
  lookup?: LookupResult;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const FAILED_CACHE = 4096;
const BOOTSTRAP_TRIES = 3;
const BOOTSTRAP_BACKOFF_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DhtNode {
  readonly id: Uint8Array;
  readonly routing: RoutingTable;
  readonly store: ValueStore;
  readonly pool: PeerPool;
  readonly file: StoreFile;
  readonly limiter: Limiter;
  private readonly upkeep: Upkeep;
  /** Contacts whose last request failed, and when: not retried for a while. */
  private readonly recentlyFailed = new Map<string, number>();
  /** Errors already counted against a contact (one dial failure reaches every request waiting on it). */
  private readonly counted = new WeakSet<object>();
  private readonly now: () => number;

  constructor(
    readonly cfg: DhtConfig,
    hostkey: Hostkey,
    readonly log: Logger,
  ) {
    this.now = Date.now;
    this.id = hostkey.identity;
    this.store = new ValueStore({
      perPeerBytes: cfg.quotaBytes,
      totalBytes: cfg.maxStoreBytes,
      maxEntries: cfg.maxEntries,
      perIpBytes: cfg.ipQuotaBytes,
      perSubnetBytes: cfg.subnetQuotaBytes,
    });
    this.file = new StoreFile(cfg.storeDir, () => this.store.values(), log);
    this.store.onChange = () => this.file.changed();
    this.limiter = new Limiter(cfg.maxLookups, cfg.maxLookups * 4);
    this.upkeep = new Upkeep(this);
    this.routing = new RoutingTable(this.id, {
      k: cfg.k,
      ping: (c) => this.ping(c),
      onAdded: (c) => this.upkeep.joined(c),
      maxPerIp: cfg.maxContactsPerIp,
      maxPerSubnet: cfg.maxContactsPerSubnet,
    });
    const deps = {
      routing: this.routing,
      store: this.store,
      k: cfg.k,
      maxTtl: cfg.maxTtl,
      liar: cfg.misbehave === 'liar',
      storeRankLimit: 2 * cfg.maxReplication,
      colluders: cfg.colluders,
      now: this.now,
    };
    this.pool = new PeerPool({
      hostkey,
      address: cfg.p2pAddress,
      advertisePort: cfg.p2pAdvertise.port,
      powBits: cfg.powBits,
      log,
      maxLinks: cfg.maxLinks,
      requestTimeoutMs: cfg.requestTimeoutMs,
      linkLimits: { handshakeTimeoutMs: cfg.dialTimeoutMs },
      handshakeTimeoutMs: cfg.handshakeTimeoutMs,
      onRequest: (from, msg, peerId, host) => handleRequest(deps, from, msg, peerId, host),
      onSeen: (c) => this.routing.seen(c),
    });
  }

  async start(): Promise<void> {
    for (const v of await this.file.load()) this.store.put(v);
    await this.pool.start();
    await this.bootstrap();
    this.upkeep.start();
  }

  async stop(): Promise<void> {
    this.upkeep.stop();
    await this.pool.stop();
    await this.file.flush();
  }

  /** Join through the configured bootstrappers, then look up our own id to meet our neighbours. */
  async bootstrap(): Promise<void> {
    this.bootstrapping ??= this.join().finally(() => {
      this.bootstrapping = undefined;
    });
    return this.bootstrapping;
  }

  private bootstrapping: Promise<void> | undefined;

  private async join(): Promise<void> {
    const own = this.pool.address;
    const targets = this.cfg.bootstrappers.filter((b) => `${b.host}:${b.port}` !== own);
    // A loaded bootstrapper may miss a handshake: retry a few times with jitter before giving up
    // (upkeep tries again whenever the table is empty).
    for (let attempt = 0; attempt < BOOTSTRAP_TRIES && targets.length > 0; attempt++) {
      if (attempt > 0) await sleep(BOOTSTRAP_BACKOFF_MS * (0.5 + Math.random()));
      const tries = targets.map((b) =>
        this.pool.dialAddress(b).then(
          (c) => this.routing.seen(c),
          (e) =>
            this.log[attempt === 0 ? 'info' : 'debug'](
              `bootstrapper ${b.host}:${b.port}: ${(e as Error).message}`,
            ),
        ),
      );
      await Promise.all(tries);
      if (this.routing.size > 0) break;
    }
    if (this.routing.size > 0) await this.findNodes(this.id, this.cfg.k);
    else if (targets.length > 0)
      this.log.warn(`no bootstrapper reachable (${targets.length} configured); will retry`);
  }

  /** Before a lookup: with no contacts at all, (re)join first. */
  private async ensureJoined(): Promise<void> {
    if (this.routing.size === 0 && this.cfg.bootstrappers.length > 0) await this.bootstrap();
  }

  /** Iterative lookup of the nodes closest to target (the k closest that answered). */
  async findNodes(target: Uint8Array, count: number): Promise<LookupResult> {
    return this.limiter.run(() => this.runLookup(target, count, false, this.cfg.getTimeoutMs));
  }

  /** Local store, else a FIND_VALUE lookup; always settles within get_timeout. */
  async get(key: Uint8Array): Promise<GetResult> {
    const local = this.store.get(key);
    if (local)
      return { value: { value: local.value, ttl: Math.ceil((local.expiresAt - this.now()) / 1000) } };
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<GetResult>((resolve) => {
      timer = setTimeout(() => resolve({}), this.cfg.getTimeoutMs);
    });
    try {
      return await Promise.race([this.lookupValue(key), bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async lookupValue(key: Uint8Array): Promise<GetResult> {
    const started = this.now();
    await this.ensureJoined();
    const res = await this.limiter.run(() => {
      const left = this.cfg.getTimeoutMs - (this.now() - started);
      return this.runLookup(key, this.cfg.k, true, Math.max(1, left));
    });
    if (!res.value) {
      const why = `${res.queries} queries, ${res.failures} failed, ${res.hops} hops${res.timedOut ? ', timed out' : ''}`;
      this.log.debug(`GET ${hex(key).slice(0, 12)}: not found (${why}; ${this.routing.size} contacts)`);
    }
    return { value: res.value, lookup: res };
  }

  /** Store locally as ours (republished until expiry) and at the closest nodes. Returns STOREs acked. */
  async put(key: Uint8Array, value: Uint8Array, ttlHint: number, replicationHint: number): Promise<number> {
    const ttl = ttlHint === 0 ? this.cfg.maxTtl : Math.min(ttlHint, this.cfg.maxTtl);
    const replication = Math.min(Math.max(replicationHint, this.cfg.k), this.cfg.maxReplication);
    const v: StoredValue = {
      key,
      value,
      expiresAt: this.now() + ttl * 1000,
      from: '',
      replication,
      published: true,
      lastPushed: this.now(),
    };
    this.store.put(v);
    return this.replicate(v, replication);
  }

  /** STORE a value at the `count` closest nodes we can find. */
  async replicate(v: StoredValue, count: number): Promise<number> {
    v.lastPushed = this.now();
    await this.ensureJoined();
    const res = await this.findNodes(v.key, count);
    const acks = await Promise.all(res.closest.slice(0, count).map((c) => this.storeAt(c, v)));
    return acks.filter(Boolean).length;
  }

  async storeAt(c: Contact, v: StoredValue): Promise<boolean> {
    const ttl = Math.ceil((v.expiresAt - this.now()) / 1000);
    if (ttl <= 0) return false;
    try {
      const r = await this.request(c, { type: DhtType.STORE, rid: 0, ttl, key: v.key, value: v.value });
      return r.type === DhtType.STORED && r.status === StoreStatus.STORED;
    } catch {
      return false;
    }
  }

  async ping(c: Contact): Promise<boolean> {
    try {
      return (await this.request(c, { type: DhtType.PING, rid: 0 })).type === DhtType.PONG;
    } catch {
      return false;
    }
  }

  private runLookup(
    target: Uint8Array,
    count: number,
    wantValue: boolean,
    deadlineMs: number,
  ): Promise<LookupResult> {
    return lookup({
      self: this.id,
      target,
      ...this.seeds(target, count),
      query: this.query,
      k: count,
      alpha: this.cfg.alpha,
      paths: this.cfg.disjointPaths,
      wantValue,
      // The pool times the reply from when the link is up; dialing has its own bound.
      requestTimeoutMs: this.cfg.requestTimeoutMs + this.cfg.dialTimeoutMs,
      deadlineMs,
    });
  }

  /** The `count` closest known contacts, and as many again as backups for dead ones. */
  private seeds(target: Uint8Array, count: number): { seeds: Contact[]; backup: Contact[] } {
    const known = this.routing.closest(target, 2 * count);
    return { seeds: known.slice(0, count), backup: known.slice(count) };
  }

  private readonly query: QueryFn = async (c, target, wantValue) => {
    const type = wantValue ? DhtType.FIND_VALUE : DhtType.FIND_NODE;
    const r = await this.request(c, { type, rid: 0, target });
    if (r.type === DhtType.VALUE) return { nodes: [], value: { value: r.value, ttl: r.ttl } };
    // A relay on a public address does not dial into private networks because a peer said so.
    if (r.type === DhtType.NODES)
      return {
        nodes: this.cfg.dialPrivateAddresses ? r.nodes : r.nodes.filter((n) => !isPrivateAddress(n.host)),
      };
    throw new Error(`unexpected reply type ${r.type}`);
  };

  /** One request; a failure marks the contact (routing table + a short do-not-retry window), unless
   * it was ours (LocalError: our own cap, a link we closed, shutdown). Keyed by id and address: a
   * bogus address for a real id (from a NODES reply) must not block requests to the real one. */
  private async request(c: Contact, msg: Parameters<PeerPool['request']>[1]) {
    const id = `${hex(c.id)}@${c.host}:${c.port}`;
    const failedAt = this.recentlyFailed.get(id);
    if (failedAt !== undefined && this.now() - failedAt < this.cfg.requestTimeoutMs) {
      throw new Error('contact failed recently');
    }
    try {
      return await this.pool.request(c, msg);
    } catch (e) {
      if (e instanceof LocalError) throw e;
      // Requests waiting on one dial share its error: a dial that failed counts once against the
      // contact, not once per waiting request (3 lookups at once evicted a contact on one failure).
      if (this.counted.has(e as object)) throw e;
      this.counted.add(e as object);
      this.routing.failed(c);
      if (this.recentlyFailed.size >= FAILED_CACHE) this.recentlyFailed.clear();
      this.recentlyFailed.set(id, this.now());
      throw e;
    }
  }
}
