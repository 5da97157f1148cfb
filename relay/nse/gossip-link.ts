// NSE's one connection to the Gossip API: NOTIFY for our data type, answer every NOTIFICATION with a
// VALIDATION, ANNOUNCE our claims. Gossip may restart: the link reconnects with jittered exponential
// backoff and re-sends NOTIFY, and reports since when it has been up (rounds with a gap don't count).
import type { HostPort } from '../../shared/address.ts';
import type { ApiMessage } from '../../shared/wire/types.ts';
import { ApiClient } from '../api/client.ts';
import type { Logger } from '../log.ts';

export interface GossipLinkOptions {
  address: HostPort;
  dataType: number;
  log: Logger;
  /** Judge a notification's data: true = well-formed and worth spreading. */
  validate(data: Uint8Array): boolean;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

export class GossipLink {
  private client: ApiClient | undefined;
  private since: number | undefined;
  private backoff: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private everUp = false;
  private readonly now: () => number;

  constructor(private readonly opts: GossipLinkOptions) {
    this.backoff = opts.minBackoffMs ?? 100;
    this.now = opts.now ?? Date.now;
  }

  /** Since when the link has been up without a break; undefined while down. */
  upSince(): number | undefined {
    return this.since;
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.client?.close();
    this.client = undefined;
    this.since = undefined;
  }

  /** ANNOUNCE with unlimited TTL (the flood must reach everyone); false when Gossip is down. */
  announce(data: Uint8Array): boolean {
    return this.send({ type: 500, ttl: 0, dataType: this.opts.dataType, data });
  }

  private send(msg: ApiMessage): boolean {
    if (!this.client || this.client.closed) return false;
    try {
      this.client.send(msg);
      return true;
    } catch {
      return false;
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { address, log } = this.opts;
    let client: ApiClient;
    try {
      client = await ApiClient.connect(address, { timeoutMs: 2000, log });
    } catch (e) {
      if (this.everUp) log.debug(`gossip API: ${(e as Error).message}`);
      this.retry();
      return;
    }
    if (this.stopped) {
      client.close();
      return;
    }
    this.client = client;
    client.onMessage((m) => this.onMessage(m));
    client.onClose((reason) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.since = undefined;
      if (!this.stopped) log.warn(`gossip API connection lost (${reason}); reconnecting`);
      this.retry();
    });
    if (!this.send({ type: 501, dataType: this.opts.dataType })) return; // closed at once: onClose retries
    this.since = this.now();
    this.everUp = true;
    this.backoff = this.opts.minBackoffMs ?? 100;
    log.info(
      `gossip API connected (${address.host}:${address.port}), notify type 0x${this.opts.dataType.toString(16)}`,
    );
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const delay = this.backoff * (0.5 + Math.random() / 2);
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 5000);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private onMessage(m: ApiMessage): void {
    if (m.type !== 502) return; // Gossip sends nothing else to a subscriber; ignore rather than crash
    let valid = false;
    try {
      valid = m.dataType === this.opts.dataType && this.opts.validate(m.data);
    } catch (e) {
      this.opts.log.error(`validating notification ${m.messageId}: ${(e as Error).message}`);
    }
    this.send({ type: 503, messageId: m.messageId, valid });
  }
}
