// RPS's two API clients: Gossip (announce our record, receive and validate others') and NSE (the
// network size that sizes view and samplers). Either may be absent or restart; we reconnect with
// backoff and carry on meanwhile.
import type { HostPort } from '../../shared/address.ts';
import { formatAddress } from '../../shared/address.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { ApiClient } from '../api/client.ts';
import type { Logger } from '../log.ts';
import { RPS_DATA_TYPE } from './record.ts';

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

export interface GossipFeedOptions {
  address: HostPort;
  log: Logger;
  announceMs: number;
  timeoutMs: number;
  /** Our current signed record (re-signed by the caller as needed). */
  ownRecord(): Uint8Array;
  /** Validate and learn a peer's record; true if it is well-formed and authentic. */
  onRecord(data: Uint8Array): boolean;
}

export class GossipFeed {
  private client: ApiClient | undefined;
  private stopped = false;
  private backoff = MIN_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;
  private announceTimer: NodeJS.Timeout | undefined;
  /** Notifications validated (true) and rejected (false), for logs and tests. */
  readonly counts = { valid: 0, invalid: 0, announced: 0 };

  constructor(private readonly o: GossipFeedOptions) {}

  start(): void {
    void this.connect();
  }

  get connected(): boolean {
    return this.client !== undefined && !this.client.closed;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let client: ApiClient;
    try {
      client = await ApiClient.connect(this.o.address, { timeoutMs: this.o.timeoutMs, log: this.o.log });
    } catch (e) {
      this.o.log.debug(`gossip API ${formatAddress(this.o.address)}: ${(e as Error).message}`);
      this.retry();
      return;
    }
    if (this.stopped) return client.close();
    this.client = client;
    this.backoff = MIN_BACKOFF_MS;
    client.onMessage((m) => {
      if (m.type !== MessageType.GOSSIP_NOTIFICATION || m.dataType !== RPS_DATA_TYPE) return;
      const valid = this.o.onRecord(m.data);
      this.counts[valid ? 'valid' : 'invalid']++;
      if (!client.closed) client.send({ type: MessageType.GOSSIP_VALIDATION, messageId: m.messageId, valid });
    });
    client.onClose((reason) => {
      this.o.log.info(`gossip API connection lost (${reason}); reconnecting`);
      clearInterval(this.announceTimer);
      this.client = undefined;
      this.retry();
    });
    client.send({ type: MessageType.GOSSIP_NOTIFY, dataType: RPS_DATA_TYPE });
    this.announce();
    this.announceTimer = setInterval(() => this.announce(), this.o.announceMs);
    this.announceTimer.unref();
  }

  private retry(): void {
    if (this.stopped) return;
    const jitter = Math.random() * this.backoff * 0.2;
    this.timer = setTimeout(() => void this.connect(), this.backoff + jitter);
    this.timer.unref();
    this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
  }

  announce(): void {
    const c = this.client;
    if (!c || c.closed) return;
    c.send({ type: MessageType.GOSSIP_ANNOUNCE, ttl: 0, dataType: RPS_DATA_TYPE, data: this.o.ownRecord() });
    this.counts.announced++;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.announceTimer);
    this.client?.close();
  }
}

/** Asks NSE for its estimate; undefined while NSE is unreachable (the caller keeps its size). */
export class NseSource {
  private client: ApiClient | undefined;
  private nextTry = 0;
  private backoff = MIN_BACKOFF_MS;

  constructor(
    private readonly address: HostPort,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  async estimate(): Promise<number | undefined> {
    const c = await this.connection();
    if (!c) return undefined;
    try {
      const m = await c.request({ type: MessageType.NSE_QUERY }, MessageType.NSE_ESTIMATE, this.timeoutMs);
      return m.estimate > 0 ? m.estimate : undefined;
    } catch (e) {
      this.log.debug(`NSE query failed: ${(e as Error).message}`);
      c.close();
      this.client = undefined;
      return undefined;
    }
  }

  private async connection(): Promise<ApiClient | undefined> {
    if (this.client && !this.client.closed) return this.client;
    if (Date.now() < this.nextTry) return undefined;
    try {
      this.client = await ApiClient.connect(this.address, { timeoutMs: this.timeoutMs, log: this.log });
      this.backoff = MIN_BACKOFF_MS;
      return this.client;
    } catch {
      this.nextTry = Date.now() + this.backoff;
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
      return undefined;
    }
  }

  close(): void {
    this.client?.close();
  }
}
