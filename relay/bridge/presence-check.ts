// The relay's part in presence: Gossip only spreads an item that a local subscriber validated, so
// the bridge subscribes to presence records and validates their public shape and freshness —
// relays without an open browser still carry friends' presence. It can't read them (no key).
// Layout constants mirror client/src/lib/presence/record.ts (a unit test checks they agree).
import type { HostPort } from '../../shared/address.ts';
import type { GossipNotification } from '../../shared/wire/types.ts';
import { ApiClient } from '../api/client.ts';
import type { Logger } from '../log.ts';

export const PRESENCE_DATA_TYPE = 0x5650;
export const PRESENCE_VERSION = 1;
export const PRESENCE_RECORD_BYTES = 1 + 4 + 16 + 24 + 640 + 16;

export function presenceShapeOk(data: Uint8Array, nowMs: number, roundMs: number): boolean {
  if (data.length !== PRESENCE_RECORD_BYTES || data[0] !== PRESENCE_VERSION) return false;
  const round = new DataView(data.buffer, data.byteOffset + 1, 4).getUint32(0);
  const current = Math.floor(nowMs / roundMs);
  return round >= current - 1 && round <= current + 1;
}

export interface PresenceValidator {
  stop(): void;
}

/** Keeps one gossip API connection subscribed; reconnects (bounded backoff) if it drops. */
export function startPresenceValidator(gossip: HostPort, roundMs: number, log: Logger): PresenceValidator {
  let client: ApiClient | null = null;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let delay = 500;
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
      client?.close();
    },
  };
}
