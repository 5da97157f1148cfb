// The relay's part in presence: Gossip only spreads an item that a local subscriber validated, so
// the bridge subscribes to presence records and validates their public shape and freshness —
// relays without an open browser still carry friends' presence. It can't read them (no key), nor
// tell a record from a key item or a dummy. The layout and its check are the browser's own:
// shared/presence/layout.ts.
import type { HostPort } from '../../shared/address.ts';
import {
  checkPresenceShape,
  dummyItem,
  ITEMS_PER_ANNOUNCE,
  nextAnnounceAt,
  PRESENCE_DATA_TYPE,
  PRESENCE_ITEM_BYTES,
  PRESENCE_VERSION,
  roundOf,
} from '../../shared/presence/layout.ts';
import type { GossipNotification } from '../../shared/wire/types.ts';
import { ApiClient } from '../api/client.ts';
import type { Logger } from '../log.ts';

export { PRESENCE_DATA_TYPE, PRESENCE_VERSION };
export const PRESENCE_RECORD_BYTES = PRESENCE_ITEM_BYTES;

export function presenceShapeOk(data: Uint8Array, nowMs: number, roundMs: number): boolean {
  return checkPresenceShape(data, nowMs, roundMs) !== null;
}

export interface PresenceValidator {
  stop(): void;
}

/**
 * Keeps one gossip API connection subscribed; reconnects (bounded backoff) if it drops. While
 * `cover()` says no page is open, it also announces what an open page would (ITEMS_PER_ANNOUNCE
 * dummies at each announcement time), so a gossip peer can't tell from the items this relay
 * originates whether its user is online.
 */
export function startPresenceValidator(
  gossip: HostPort,
  roundMs: number,
  log: Logger,
  cover: () => boolean = () => false,
): PresenceValidator {
  let client: ApiClient | null = null;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let coverTimer: ReturnType<typeof setTimeout> | undefined;
  let delay = 500;
  const coverTick = () => {
    if (stopped) return;
    const now = Date.now();
    if (client && cover())
      for (let i = 0; i < ITEMS_PER_ANNOUNCE; i++)
        client.send({
          type: 500,
          ttl: 0,
          dataType: PRESENCE_DATA_TYPE,
          data: dummyItem(roundOf(now, roundMs)),
        });
    coverTimer = setTimeout(coverTick, nextAnnounceAt(Date.now(), roundMs) - Date.now());
  };
  coverTimer = setTimeout(coverTick, nextAnnounceAt(Date.now(), roundMs) - Date.now());
  const connect = async () => {
    if (stopped) return;
    try {
      const c = await ApiClient.connect(gossip, { timeoutMs: 3000, log });
      if (stopped) return c.close();
      client = c;
      delay = 500;
      c.onMessage((m) => {
        if (m.type !== 502 || m.dataType !== PRESENCE_DATA_TYPE) return;
        const valid = presenceShapeOk((m as GossipNotification).data, Date.now(), roundMs);
        c.send({ type: 503, messageId: m.messageId, valid });
      });
      c.onClose((why) => {
        if (stopped) return;
        log.warn(`presence validator: gossip connection lost (${why}); retrying`);
        retry = setTimeout(connect, delay);
      });
      c.send({ type: 501, dataType: PRESENCE_DATA_TYPE });
    } catch (e) {
      log.debug(`presence validator: ${(e as Error).message}`);
      delay = Math.min(delay * 2, 10_000);
      retry = setTimeout(connect, delay);
    }
  };
  void connect();
  return {
    stop() {
      stopped = true;
      clearTimeout(retry);
      clearTimeout(coverTimer);
      client?.close();
    },
  };
}
