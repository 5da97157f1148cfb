// What a hostile neighbour does to one relay during a soak, every loop bounded in rate and stopped
// by stop(): garbage and valid-but-useless floods on its API ports, garbage and half-open
// connections on its P2P ports, and tunnels opened and abandoned through its onion API.
// Only loopback addresses of the soak's own testnet are ever dialled.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { parseAddress } from '../../shared/address.ts';
import { encodeMessage } from '../../shared/wire/index.ts';
import { type ApiMessage, MessageType, type OnionTunnelBuild } from '../../shared/wire/types.ts';

export interface AbuseCounts {
  apiConnections: number;
  apiBytes: number;
  p2pConnections: number;
  p2pBytes: number;
  tunnelsAbandoned: number;
}

export interface Abuse {
  readonly counts: AbuseCounts;
  stop(): void;
}

export interface AbuseTarget {
  api: Record<string, string>;
  p2p: Record<string, string>;
  /** TUNNEL BUILDs the target's onion API may be asked for (to other relays). */
  builds: OnionTunnelBuild[];
}

const LOOPBACK = /^127\./;

function dial(address: string, onOpen: (s: Socket) => void, onEnd: () => void): Socket | undefined {
  const { host, port } = parseAddress(address);
  if (!LOOPBACK.test(host)) throw new Error(`abuse refuses a non-loopback target ${address}`);
  const s = connect({ host, port });
  s.on('connect', () => onOpen(s));
  s.on('error', () => {});
  s.on('close', onEnd);
  return s;
}

/** Valid API messages that cost the module work and give the sender nothing. */
function useless(module: string): ApiMessage {
  switch (module) {
    case 'gossip':
      return { type: MessageType.GOSSIP_NOTIFY, dataType: 0x4242 };
    case 'nse':
      return { type: MessageType.NSE_QUERY };
    case 'rps':
      return { type: MessageType.RPS_QUERY };
    case 'dht':
      return { type: MessageType.DHT_GET, key: randomBytes(32) };
    default:
      return { type: MessageType.ONION_COVER, coverSize: 4096 };
  }
}

/**
 * Keeps `perPort` connections open to every API and P2P port of the target; each writes `rate`
 * chunks per second (garbage on P2P and on half the API connections, valid useless messages on
 * the rest) and is replaced when the relay closes it. Opens and abandons one tunnel a second.
 */
export function startAbuse(target: AbuseTarget, perPort = 2, rate = 50): Abuse {
  const counts: AbuseCounts = {
    apiConnections: 0,
    apiBytes: 0,
    p2pConnections: 0,
    p2pBytes: 0,
    tunnelsAbandoned: 0,
  };
  const sockets = new Set<Socket>();
  let stopped = false;

  const keep = (address: string, chunk: () => Uint8Array, api: boolean) => {
    if (stopped) return;
    let timer: NodeJS.Timeout | undefined;
    const s = dial(
      address,
      (sock) => {
        if (api) counts.apiConnections++;
        else counts.p2pConnections++;
        timer = setInterval(() => {
          const b = chunk();
          if (sock.writableLength > 1 << 20) return; // the relay stopped reading: don't buffer more
          sock.write(b);
          if (api) counts.apiBytes += b.length;
          else counts.p2pBytes += b.length;
        }, 1000 / rate);
      },
      () => {
        clearInterval(timer);
        if (s) sockets.delete(s);
        // Reconnect after a pause, as a persistent attacker would.
        if (!stopped) setTimeout(() => keep(address, chunk, api), 200).unref();
      },
    );
    if (s) sockets.add(s);
  };

  for (const [module, address] of Object.entries(target.api)) {
    for (let i = 0; i < perPort; i++) {
      const garbage = i % 2 === 0;
      keep(address, () => (garbage ? randomBytes(64) : encodeMessage(useless(module))), true);
    }
  }
  for (const [module, address] of Object.entries(target.p2p)) {
    if (module === 'bridge') continue; // the bridge is HTTP; its floods are the bridge tests' job
    for (let i = 0; i < perPort; i++) keep(address, () => randomBytes(128), false);
    // A half-open connection that never speaks: holds a handshake slot until the deadline.
    dial(
      address,
      (s) => sockets.add(s),
      () => {},
    );
  }

  // Tunnels opened and abandoned: build, then drop the API connection before or after READY.
  const onionApi = target.api.onion;
  const abandon = setInterval(() => {
    if (!onionApi || !target.builds.length) return;
    const to = target.builds[Math.floor(Math.random() * target.builds.length)]!;
    const s = dial(
      onionApi,
      (sock) => {
        sock.write(encodeMessage(to));
        setTimeout(() => sock.destroy(), Math.random() * 3000).unref();
        counts.tunnelsAbandoned++;
      },
      () => {},
    );
    if (s) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
  }, 1000);

  return {
    counts,
    stop() {
      stopped = true;
      clearInterval(abandon);
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
