// A relay bound to 0.0.0.0 tells peers its configured public address (issue 16), across hosts: two
// network namespaces with an address each (relay/dev/hosts.ts), three relays per host, every P2P
// listener bound to 0.0.0.0 and advertising the host's address (`p2p_advertise`). Checked where
// peers learn it: the records an RPS QUERY returns, the bridge's hello (the onion address the page
// puts into its presence records), DHT and gossip links, and the onion EXTENDs of a tunnel across
// hosts. Which address a peer dialled is read from the kernel (`ss` in each namespace): on a socket
// a 0.0.0.0 listener accepted, the local address is the one the peer dialled. Needs root; skips with
// a reason if not.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { netnsUnavailable } from '../../relay/dev/hosts.ts';
import { type HostsTestnet, startHostsTestnet } from '../../relay/dev/testnet-hosts.ts';
import { ApiClient } from '../../relay/api/client.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { parseAddress } from '../../shared/address.ts';
import { identityOf, toHex } from '../../shared/identity.ts';
import { MessageType, ModuleId, type RpsPeer } from '../../shared/wire/types.ts';
import { FAST } from '../integration/rps-helpers.ts';
import { until } from './call-helpers.ts';

const unavailable = netnsUnavailable();
if (unavailable) console.warn(`cross-host advertise test SKIPPED: ${unavailable}; CI runs it as root`);

const TOKEN = 'advertise-hosts-token-0123';
const P2P = ['gossip', 'rps', 'onion', 'dht'] as const;
let net: HostsTestnet;
/** Relay i's API or bridge on its host's 127.0.0.1, reached from here. */
const reach = (i: number, address: string) => net.hosts.reach(net.hostOf(i), parseAddress(address).port);
const hostAddress = (i: number) => net.hosts.hosts[net.hostOf(i)]!.address;

interface Conn {
  ns: number;
  local: string;
  remote: string;
  pid: number | undefined;
}

/** Every established TCP connection in every host, with the process that holds it. */
function census(): Conn[] {
  return net.hosts.hosts.flatMap((h) =>
    execFileSync('ip', ['netns', 'exec', h.ns, 'ss', '-tnpH', 'state', 'established'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const [, , local, remote] = l.trim().split(/\s+/);
        const pid = /pid=(\d+)/.exec(l)?.[1];
        return { ns: h.index, local: local!, remote: remote!, pid: pid ? Number(pid) : undefined };
      }),
  );
}

interface Link {
  module: string;
  /** The relay whose listener accepted it, and the relay that dialled (undefined: not a relay). */
  to: number;
  from: number | undefined;
  /** The address the dialler dialled (the accepted socket's local address). */
  dialled: string;
}

/** The P2P links between our relays: accepted sockets on a relay's P2P port, matched to their dialler. */
function links(): Link[] {
  const conns = census();
  const byPort = new Map<number, { relay: number; module: string }>();
  for (const r of net.relays)
    for (const m of P2P) byPort.set(parseAddress(r.p2p[m]!).port, { relay: r.index, module: m });
  const relayOfPid = new Map(net.relays.map((r) => [r.pid(), r.index]));
  const out: Link[] = [];
  for (const c of conns) {
    const l = byPort.get(parseAddress(c.local).port);
    // Accepted by that relay (not its own outgoing socket that happens to match the port).
    if (!l || relayOfPid.get(c.pid) !== l.relay || net.hostOf(l.relay) !== c.ns) continue;
    const peer = conns.find((d) => d.local === c.remote && d.remote === c.local);
    out.push({
      module: l.module,
      to: l.relay,
      from: peer ? relayOfPid.get(peer.pid) : undefined,
      dialled: c.local,
    });
  }
  return out;
}

/** Every link went to the address its listener advertises (never 127.0.0.1, never another host's). */
function expectAdvertised(ls: Link[]): void {
  for (const l of ls)
    expect(l.dialled, `${l.module} link ${l.from} -> ${l.to}`).toBe(net.relays[l.to]!.p2p[l.module]);
}

describe.skipIf(!!unavailable)('relays bound to 0.0.0.0 on two hosts', () => {
  beforeAll(async () => {
    net = await startHostsTestnet({
      hosts: 2,
      relaysPerHost: 3,
      bindAny: true,
      set: {
        ...FAST,
        'gossip.pow_bits': '4',
        'nse.pow_bits': '4',
        'dht.pow_bits': '4',
        'onion.round_seconds': '3600',
        'onion.cover_tunnel': 'false',
        'bridge.token': TOKEN,
      },
      log: createLogger('testnet', 'warn'),
    });
  }, 180_000);

  afterAll(async () => {
    await net?.stop();
  });

  it('every P2P listener is bound to 0.0.0.0 and advertises its host address', () => {
    const listening = net.hosts.hosts.map((h) =>
      execFileSync('ip', ['netns', 'exec', h.ns, 'ss', '-tlnH'], { encoding: 'utf8' }),
    );
    for (const r of net.relays)
      for (const m of P2P) {
        const { host, port } = parseAddress(r.p2p[m]!);
        expect(host, `relay ${r.index} ${m}`).toBe(hostAddress(r.index));
        expect(listening[net.hostOf(r.index)], `relay ${r.index} ${m}`).toContain(`0.0.0.0:${port} `);
      }
  });

  it('RPS records carry each relay host address and its module ports', async () => {
    const c = await ApiClient.connect(await reach(0, net.relays[0]!.api.rps!), { timeoutMs: 10_000 });
    const seen = new Map<string, RpsPeer>();
    const others = net.relays.slice(1).map((r) => r.identity);
    try {
      await until(
        async () => {
          const p = await c.request({ type: MessageType.RPS_QUERY }, MessageType.RPS_PEER, 15_000);
          seen.set(toHex(identityOf(p.hostkey)), p);
          return others.every((id) => seen.has(id));
        },
        'RPS handing out every other relay',
        60_000,
      );
    } finally {
      c.close();
    }
    for (const r of net.relays.slice(1)) {
      const p = seen.get(r.identity)!;
      expect(p.address, `relay ${r.index}`).toBe(hostAddress(r.index));
      for (const [m, id] of [
        ['onion', ModuleId.ONION],
        ['dht', ModuleId.DHT],
        ['gossip', ModuleId.GOSSIP],
      ] as const)
        expect(p.portmap.find((e) => e.module === id)?.port, `relay ${r.index} ${m}`).toBe(
          parseAddress(r.p2p[m]!).port,
        );
    }
  }, 90_000);

  it('presence: each bridge tells its page the host address for its presence records', async () => {
    for (const i of [0, 1]) {
      const bridge = net.relays[i]!.p2p.bridge!;
      const ws = new WebSocket(`ws://${await reach(i, bridge)}/ws?token=${TOKEN}`, {
        origin: `http://${bridge}`,
        headers: { host: bridge },
      });
      try {
        const hello = await new Promise<Record<string, unknown>>((res, rej) => {
          const t = setTimeout(() => rej(new Error('no hello')), 10_000);
          ws.on('error', rej);
          ws.on('message', (data, binary) => {
            if (binary) return;
            const m = JSON.parse(String(data));
            if (m.t === 'hello') {
              clearTimeout(t);
              res(m);
            }
          });
        });
        expect(hello.onion).toEqual({
          host: hostAddress(i),
          port: parseAddress(net.relays[i]!.p2p.onion!).port,
        });
      } finally {
        ws.close();
      }
    }
  });

  it('DHT and gossip peers dial the advertised addresses they learnt', async () => {
    const put = await ApiClient.connect(await reach(0, net.relays[0]!.api.dht!), { timeoutMs: 10_000 });
    const get = await ApiClient.connect(await reach(5, net.relays[5]!.api.dht!), { timeoutMs: 10_000 });
    const key = new Uint8Array(32).fill(0x5a);
    const value = new TextEncoder().encode('across hosts');
    try {
      put.send({ type: MessageType.DHT_PUT, ttl: 600, replication: 3, key, value });
      await until(
        async () => {
          const r = await get
            .request({ type: MessageType.DHT_GET, key }, MessageType.DHT_SUCCESS, 5_000)
            .catch(() => null);
          return !!r && new TextDecoder().decode(r.value) === 'across hosts';
        },
        'the value put on host 0 found from host 1',
        60_000,
      );
    } finally {
      put.close();
      get.close();
    }
    const ls = links();
    expectAdvertised(ls);
    // Relays 2..5 are nobody's bootstrapper: a link into one was dialled at an address learnt from peers.
    for (const m of ['dht', 'gossip'])
      expect(
        ls.filter(
          (l) =>
            l.module === m && l.to >= 2 && l.from !== undefined && net.hostOf(l.from) !== net.hostOf(l.to),
        ),
        `${m} links across hosts into a relay no config names`,
      ).not.toEqual([]);
  }, 90_000);

  it('an onion tunnel across hosts EXTENDs to the advertised addresses', async () => {
    const a = await ApiClient.connect(await reach(0, net.relays[0]!.api.onion!), { timeoutMs: 10_000 });
    const d = await ApiClient.connect(await reach(5, net.relays[5]!.api.onion!), { timeoutMs: 10_000 });
    try {
      const dest = parseAddress(net.relays[5]!.p2p.onion!);
      const { spkiDer } = await loadHostkey(net.relays[5]!.hostkeyPath);
      const incoming = new Set<number>();
      d.onMessage((m) => {
        if (m.type === MessageType.ONION_TUNNEL_INCOMING) incoming.add(m.tunnelId);
      });
      // A build is CPU work at every hop: on a loaded machine one may time out, so up to three.
      let ready: { tunnelId: number } | undefined;
      for (let attempt = 1; !ready; attempt++) {
        try {
          ready = await a.request(
            { type: MessageType.ONION_TUNNEL_BUILD, address: dest.host, port: dest.port, hostkey: spkiDer },
            MessageType.ONION_TUNNEL_READY,
            45_000,
          );
        } catch (e) {
          if (attempt >= 3) throw e;
        }
      }
      const got = d.next(MessageType.ONION_TUNNEL_DATA, { timeoutMs: 30_000 });
      a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: Uint8Array.of(1, 2, 3) });
      const data = await got;
      expect(incoming).toContain(data.tunnelId);
      expect([...data.data]).toEqual([1, 2, 3]);
    } finally {
      a.close();
      d.close();
    }
    const onion = links().filter((l) => l.module === 'onion');
    expectAdvertised(onion);
    // The destination's last hop is a relay that EXTENDed to it (not the originator), at its advertised address.
    const extended = onion.filter((l) => l.to === 5 && l.from !== undefined && l.from !== 0);
    expect(extended.map((l) => l.dialled)).toContain(net.relays[5]!.p2p.onion);
    expect(onion.some((l) => l.from !== undefined && net.hostOf(l.from) !== net.hostOf(l.to))).toBe(true);
  }, 180_000);
});
