// Answers DHT requests from other relays. An honest node answers FIND_NODE with its k closest
// contacts, FIND_VALUE with the value when it holds it, and STORE within the sender's quota. The
// `liar` behaviour exists only so tests can measure the defences: it answers with the contacts
// closest to the target among its fellow liars (`colluders`), padded with the contacts farthest from
// the target, never returns values and acknowledges STOREs it drops.
import type { DhtMessage } from './protocol.ts';
import { DhtType, StoreStatus } from './protocol.ts';
import type { Contact, RoutingTable } from './routing.ts';
import type { ValueStore } from './storage.ts';
import { compareDistance, idEquals, sortByDistance } from './xor.ts';

export interface HandlerDeps {
  routing: RoutingTable;
  store: ValueStore;
  k: number;
  maxTtl: number;
  liar: boolean;
  /** A STORE is refused when this many known nodes are closer to its key than we are. */
  storeRankLimit: number;
  /** Hex ids of fellow liars (test-only collusion). */
  colluders: ReadonlySet<string>;
  now: () => number;
}

export function handleRequest(
  d: HandlerDeps,
  from: Contact | undefined,
  m: DhtMessage,
  peerId: string,
  /** The link's remote IP (per-IP and per-subnet store quotas). */
  host?: string,
): DhtMessage {
  const notFrom = (c: Contact) => from !== undefined && idEquals(c.id, from.id);
  switch (m.type) {
    case DhtType.PING:
      return { type: DhtType.PONG, rid: m.rid };
    case DhtType.FIND_NODE:
    case DhtType.FIND_VALUE: {
      if (d.liar) return { type: DhtType.NODES, rid: m.rid, nodes: wrongNodes(d, m.target) };
      if (m.type === DhtType.FIND_VALUE) {
        const v = d.store.get(m.target);
        if (v) {
          const ttl = Math.max(1, Math.ceil((v.expiresAt - d.now()) / 1000));
          return { type: DhtType.VALUE, rid: m.rid, ttl, value: v.value };
        }
      }
      return { type: DhtType.NODES, rid: m.rid, nodes: d.routing.closest(m.target, d.k, notFrom) };
    }
    case DhtType.STORE: {
      if (d.liar) return { type: DhtType.STORED, rid: m.rid, status: StoreStatus.STORED };
      if (m.ttl === 0 || !plausibleHolder(d, m.key))
        return { type: DhtType.STORED, rid: m.rid, status: StoreStatus.REFUSED };
      const ttl = Math.min(m.ttl, d.maxTtl);
      const outcome = d.store.put({
        key: m.key,
        value: m.value,
        expiresAt: d.now() + ttl * 1000,
        from: peerId,
        fromHost: host,
        replication: 0,
        published: false,
        lastPushed: d.now(),
      });
      const status =
        outcome === 'stored'
          ? StoreStatus.STORED
          : outcome === 'quota'
            ? StoreStatus.QUOTA
            : StoreStatus.FULL;
      return { type: DhtType.STORED, rid: m.rid, status };
    }
    default:
      // Replies never reach here (the peer pool matches them to requests).
      return { type: DhtType.NODES, rid: m.rid, nodes: [] };
  }
}

/** Are we among the nodes a STORE for this key could be meant for? (Keeps storage for the keys
 * near us, so a flood of identities cannot fill it with keys from anywhere.) */
function plausibleHolder(d: HandlerDeps, key: Uint8Array): boolean {
  let closer = 0;
  for (const c of d.routing.all()) {
    if (compareDistance(key, c.id, d.routing.self) < 0 && ++closer >= d.storeRankLimit) return false;
  }
  return true;
}

function wrongNodes(d: HandlerDeps, target: Uint8Array): Contact[] {
  const all = d.routing.all();
  const isLiar = (c: Contact) => d.colluders.has(Buffer.from(c.id).toString('hex'));
  const liars = sortByDistance(target, all.filter(isLiar));
  const far = sortByDistance(
    target,
    all.filter((c) => !isLiar(c)),
  ).reverse();
  return [...liars, ...far].slice(0, d.k);
}
