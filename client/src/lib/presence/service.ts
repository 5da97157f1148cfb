// Presence while the client is open. Twice a round (just after the boundary and at mid-round) we
// publish exactly ITEMS_PER_ANNOUNCE items of PRESENCE_ITEM_BYTES each, whatever our friend count:
// one key item (our current presence secret for the next friend in turn, or a dummy when we have
// none) and our sealed record. So a removal's rekey changes no count or size anyone can see, and a
// friend who was offline during a rotation gets the new secret on its next turn.
// We also validate every presence item Gossip shows us (shape and freshness, the public part) and
// feed them to the tracker.
import { nextAnnounceAt } from '../../../../shared/presence/layout.ts';
import type { BridgeConnection } from '../bridge/connection.ts';
import type { Contact } from '../contacts/store.ts';
import { pairKeys } from './keys.ts';
import { dummyItem, PRESENCE_DATA_TYPE, roundOf, sealKeyItem, sealPresence, slotOf } from './record.ts';
import type { SelfPresenceState } from './self.ts';
import type { PresenceTracker } from './tracker.ts';

export interface PresenceServiceOptions {
  conn: Pick<BridgeConnection, 'send' | 'sign' | 'onMessage'>;
  tracker: PresenceTracker;
  self: () => SelfPresenceState;
  contacts: () => Contact[];
  onion: { host: string; port: number };
  roundMs: number;
  now: () => number;
  /** Gossip TTL in hops (0 = unlimited). */
  ttl?: number;
  onError?: (message: string) => void;
  /** An announcement went out (after an error: the page can drop its message). */
  onAnnounced?: () => void;
}

/**
 * Whose turn it is to get a key item. Round-robin over every friend with a v2 contact; after a
 * rotation (epoch change) friends we see online go first, since only they would notice a gap.
 */
export class KeyCarousel {
  private queue: string[] = [];
  private epoch = -1;

  next(contacts: Contact[], epoch: number, online: ReadonlySet<string>): Contact | null {
    const eligible = new Map(contacts.filter((c) => c.presence).map((c) => [c.identity, c]));
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      const ids = [...eligible.keys()];
      this.queue = [...ids.filter((id) => online.has(id)), ...ids.filter((id) => !online.has(id))];
    }
    for (let tries = 0; tries < 2; tries++) {
      while (this.queue.length) {
        const c = eligible.get(this.queue.shift()!);
        if (c) return c;
      }
      this.queue = [...eligible.keys()];
    }
    return null;
  }
}

export class PresenceService {
  private announceTimer: ReturnType<typeof setTimeout> | undefined;
  private expireTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly off: () => void;
  private readonly carousel = new KeyCarousel();
  private stopped = false;
  /** Announcements sent (each of ITEMS_PER_ANNOUNCE items). */
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
    // No announcement on opening: only at the fixed times, where the relay's cover items stood
    // until now, so the moment a page opens is not visible in what the relay originates.
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
    const next = nextAnnounceAt(now, this.o.roundMs);
    this.announceTimer = setTimeout(() => {
      void this.announce();
      this.schedule();
    }, next - now);
  }

  /** The items of one announcement: [key item or dummy, record]. Exported for tests through announce. */
  async items(now: number): Promise<Uint8Array[]> {
    const self = this.o.self();
    const round = roundOf(now, this.o.roundMs);
    const slot = slotOf(now, this.o.roundMs);
    const friend = this.carousel.next(this.o.contacts(), self.epoch, new Set(this.o.tracker.friends.keys()));
    const pair = friend?.presence
      ? pairKeys(self.contactPriv, friend.presence.contactKey, self.contactPub, friend.presence.contactKey)
      : null;
    const keyItem = pair
      ? sealKeyItem(pair, round, slot, { epoch: self.epoch, secret: self.secret })
      : dummyItem(round);
    const record = await sealPresence(
      self.secret,
      { round, slot, timestamp: now, host: this.o.onion.host, port: this.o.onion.port },
      (d) => this.o.conn.sign('presence', d),
    );
    return [keyItem, record];
  }

  private async announce(): Promise<void> {
    if (this.stopped) return;
    try {
      // Both or neither: the count per announcement never depends on anything but errors.
      const items = await this.items(this.o.now());
      if (this.stopped) return;
      let sent = 0;
      for (const data of items)
        if (this.o.conn.send({ type: 500, ttl: this.o.ttl ?? 0, dataType: PRESENCE_DATA_TYPE, data })) sent++;
      if (sent === items.length) {
        this.announced++;
        this.o.onAnnounced?.();
      }
    } catch (e) {
      this.o.onError?.(`Could not announce that you are online: ${(e as Error).message}`);
    }
  }
}
