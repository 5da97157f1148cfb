// Presence while the client is open: announce our sealed record every round (and mid-round, so a
// friend who just opened sees us quickly), validate every presence item Gossip shows us (shape and
// freshness, the public part), and feed them to the tracker.
import type { BridgeConnection } from '../bridge/connection.ts';
import { PRESENCE_DATA_TYPE, roundOf, sealPresence } from './record.ts';
import type { PresenceTracker } from './tracker.ts';

export interface PresenceServiceOptions {
  conn: BridgeConnection;
  tracker: PresenceTracker;
  ownSpki: Uint8Array;
  onion: { host: string; port: number };
  roundMs: number;
  now: () => number;
  /** Gossip TTL in hops (0 = unlimited). */
  ttl?: number;
  onError?: (message: string) => void;
}

export class PresenceService {
  private announceTimer: ReturnType<typeof setTimeout> | undefined;
  private expireTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly off: () => void;
  private stopped = false;
  announced = 0;

  constructor(private readonly o: PresenceServiceOptions) {
    this.off = o.conn.onMessage((m) => {
      if (m.type !== 502 || m.dataType !== PRESENCE_DATA_TYPE) return;
      o.conn.send({ type: 503, messageId: m.messageId, valid: o.tracker.isValidShape(m.data) });
      void o.tracker.handle(m.data);
    });
  }

  start(): void {
    this.o.conn.send({ type: 501, dataType: PRESENCE_DATA_TYPE });
    void this.announce();
    this.schedule();
    const expire = () => {
      this.o.tracker.expire();
      if (!this.stopped) this.expireTimer = setTimeout(expire, 1000);
    };
    expire();
  }

  stop(): void {
    this.stopped = true;
    this.off();
    clearTimeout(this.announceTimer);
    clearTimeout(this.expireTimer);
  }

  /** Next announcement: just after the next round boundary or at mid-round, whichever is first. */
  private schedule(): void {
    if (this.stopped) return;
    const now = this.o.now();
    const r = this.o.roundMs;
    const start = roundOf(now, r) * r;
    const next = [start + r / 2, start + r + 200].find((t) => t > now)!;
    this.announceTimer = setTimeout(() => {
      void this.announce();
      this.schedule();
    }, next - now);
  }

  private async announce(): Promise<void> {
    if (this.stopped) return;
    const now = this.o.now();
    try {
      const record = await sealPresence(
        this.o.ownSpki,
        {
          round: roundOf(now, this.o.roundMs),
          timestamp: now,
          host: this.o.onion.host,
          port: this.o.onion.port,
        },
        (d) => this.o.conn.sign('presence', d),
      );
      if (this.o.conn.send({ type: 500, ttl: this.o.ttl ?? 0, dataType: PRESENCE_DATA_TYPE, data: record }))
        this.announced++;
    } catch (e) {
      this.o.onError?.(`Could not announce that you are online: ${(e as Error).message}`);
    }
  }
}
