// Hops come from the RPS module's API (RPS QUERY -> RPS PEER), reached over TCP like any other
// module's. Queries on one connection are answered in order, so they are serialised.
import { parseHostkey } from './keycache.ts';
import { ApiClient } from '../api/client.ts';
import type { HostPort } from '../../shared/address.ts';
import type { Logger } from '../log.ts';
import { MessageType, ModuleId, type RpsPeer } from '../../shared/wire/types.ts';
import type { HopPeer } from './origin.ts';

export interface PeerSource {
  /** A random onion peer, or undefined if none could be had in time. */
  randomPeer(): Promise<HopPeer | undefined>;
  close(): void;
}

export function peerFromRps(m: RpsPeer): HopPeer | undefined {
  const onion = m.portmap.find((e) => e.module === ModuleId.ONION);
  if (!onion || onion.port === 0) return undefined;
  try {
    const k = parseHostkey(m.hostkey);
    return { host: m.address, port: onion.port, der: k.spki, identity: k.identity, idHex: k.idHex };
  } catch {
    return undefined;
  }
}

const POOL_SIZE = 16;
const POOL_MAX_AGE_MS = 30_000;

/**
 * RPS answers are fetched ahead into a small pool (each used once, dropped when stale), so drawing
 * hops costs no round trip on the build path.
 */
export class RpsPeerSource implements PeerSource {
  private client: ApiClient | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly pool: { peer: HopPeer; at: number }[] = [];
  private refilling = false;

  constructor(
    private readonly address: HostPort,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  randomPeer(): Promise<HopPeer | undefined> {
    const now = Date.now();
    while (this.pool.length && now - this.pool[0]!.at > POOL_MAX_AGE_MS) this.pool.shift();
    const hit = this.pool.shift();
    void this.refill();
    return hit ? Promise.resolve(hit.peer) : this.queued();
  }

  private async refill(): Promise<void> {
    if (this.refilling || this.closed) return;
    this.refilling = true;
    try {
      while (this.pool.length < POOL_SIZE && !this.closed) {
        const p = await this.queued();
        if (!p) break;
        this.pool.push({ peer: p, at: Date.now() });
      }
    } finally {
      this.refilling = false;
    }
  }

  private queued(): Promise<HopPeer | undefined> {
    const p = this.chain.then(() => this.query());
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async query(): Promise<HopPeer | undefined> {
    if (this.closed) return undefined;
    try {
      if (!this.client || this.client.closed) {
        this.client = await ApiClient.connect(this.address, { timeoutMs: this.timeoutMs });
      }
      const m = await this.client.request(
        { type: MessageType.RPS_QUERY },
        MessageType.RPS_PEER,
        this.timeoutMs,
      );
      return peerFromRps(m);
    } catch (e) {
      this.log.debug(`RPS query failed: ${(e as Error).message}`);
      this.client?.close();
      this.client = undefined;
      return undefined;
    }
  }

  close(): void {
    this.closed = true;
    this.client?.close();
  }
}
