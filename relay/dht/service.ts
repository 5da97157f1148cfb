// The DHT's API side (spec 4.3, api-wire-format.md): PUT (650, no reply) and GET (651), answered
// later by SUCCESS (652) or FAILURE (653) within get_timeout. Each connection may have a bounded
// number of GETs outstanding; the codec already rejects an empty PUT value (connection closed).
import type { ApiConnection, ApiHandler } from '../api/types.ts';
import { ApiViolation } from '../api/types.ts';
import type { ApiMessage } from '../../shared/wire/types.ts';
import type { DhtNode } from './node.ts';

const MAX_GETS_PER_CONNECTION = 256;

export function dhtApiHandler(node: DhtNode): ApiHandler {
  const outstanding = new Map<number, number>();
  return {
    accepts: new Set([650, 651]),
    onDisconnect: (conn) => outstanding.delete(conn.id),
    onMessage(conn: ApiConnection, msg: ApiMessage) {
      if (msg.type === 650) {
        if (msg.value.length === 0) throw new ApiViolation('DHT PUT with an empty value');
        node.put(msg.key, msg.value, msg.ttl, msg.replication).then(
          (acks) =>
            node.log.debug(`PUT ${Buffer.from(msg.key).toString('hex').slice(0, 12)}: ${acks} replicas`),
          (e) => node.log.warn(`PUT failed: ${(e as Error).message}`),
        );
        return;
      }
      if (msg.type !== 651) throw new ApiViolation(`message type ${msg.type} not accepted by DHT`);
      const n = outstanding.get(conn.id) ?? 0;
      if (n >= MAX_GETS_PER_CONNECTION) {
        conn.send({ type: 653, key: msg.key });
        return;
      }
      outstanding.set(conn.id, n + 1);
      const key = msg.key;
      const done = (reply: ApiMessage) => {
        const left = (outstanding.get(conn.id) ?? 1) - 1;
        if (left > 0) outstanding.set(conn.id, left);
        else outstanding.delete(conn.id);
        if (!conn.closed) conn.send(reply);
      };
      node.get(key).then(
        (r) => done(r.value ? { type: 652, key, value: r.value.value } : { type: 653, key }),
        (e) => {
          node.log.debug(`GET failed: ${(e as Error).message}`);
          done({ type: 653, key });
        },
      );
    },
  };
}
