// Test support for onion tests: a fake RPS API server (a seam the spec defines) answering RPS QUERY
// with random onion peers of the test network, and a testnet of onion-only relays wired to it.
import { readFileSync } from 'node:fs';
import { parseAddress } from '../../shared/address.ts';
import { MessageType, ModuleId, type RpsPeer } from '../../shared/wire/types.ts';
import { ApiClient } from '../../relay/api/client.ts';
import { type ApiServer, startApiServer } from '../../relay/api/server.ts';
import type { ApiConnection } from '../../relay/api/types.ts';
import { hostkeyFromPem } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { type OnionDebug, onionInstances } from '../../relay/onion/debug.ts';
import { startTestnet, type Testnet, type TestnetOptions } from '../../relay/dev/testnet.ts';

export interface FakeRps {
  server: ApiServer;
  peers: RpsPeer[];
  /** Answer the queries that arrived before any peer was known. */
  release(): void;
  close(): Promise<void>;
}

export async function startFakeRps(): Promise<FakeRps> {
  const peers: RpsPeer[] = [];
  const waiting: ApiConnection[] = [];
  const server = await startApiServer({
    module: 'fake-rps',
    address: { host: '127.0.0.1', port: 0 },
    log: createLogger('fake-rps', 'warn'),
    handler: {
      accepts: new Set([MessageType.RPS_QUERY]),
      onMessage(conn) {
        if (peers.length === 0)
          waiting.push(conn); // answered once the network is up
        else conn.send(peers[Math.floor(Math.random() * peers.length)]!);
      },
    },
  });
  const release = () => {
    for (const c of waiting.splice(0)) c.send(peers[Math.floor(Math.random() * peers.length)]!);
  };
  return { server, peers, release, close: () => server.close() };
}

export function rpsPeerOf(hostkeyPath: string, p2p: string): RpsPeer {
  const { host, port } = parseAddress(p2p);
  const key = hostkeyFromPem(readFileSync(hostkeyPath, 'utf8'));
  return {
    type: MessageType.RPS_PEER,
    port,
    portmap: [{ module: ModuleId.ONION, port }],
    address: host,
    hostkey: key.spkiDer,
  };
}

export interface OnionNet {
  net: Testnet;
  rps: FakeRps;
  der: Uint8Array[];
  debug(i: number): OnionDebug;
  client(i: number): Promise<ApiClient>;
  /** BUILD message from relay i's view of relay j as destination. */
  buildTo(j: number): { type: 560; address: string; port: number; hostkey: Uint8Array };
  stop(): Promise<void>;
}

export async function startOnionNet(
  n: number,
  set: Record<string, string> = {},
  setFor?: (i: number) => Record<string, string>,
  mode: TestnetOptions['mode'] = 'in-process',
): Promise<OnionNet> {
  const rps = await startFakeRps();
  const net = await startTestnet({
    relays: n,
    only: ['onion'],
    // Rounds of an hour (none in a test) and BUILDs answered at once: these tests are about the API
    // and the tunnels' mechanics. Held BUILDs (build_in_slot, the default) are onion-call-shape's.
    set: {
      'rps.api_address': rps.server.address,
      'onion.round_seconds': '3600',
      'onion.build_in_slot': 'false',
      // Only the relays these tests give clients send cover: every relay's own cover (relay_cover,
      // on by default) would add a stream per relay to the links they time. onion-relay-cover.test.ts
      // turns it on (and the link observer on request).
      'onion.relay_cover': 'false',
      // ONION_HOP_CLOCK=true: middle hops forward on slot clocks too (issue 15's experiment).
      ...(process.env.ONION_HOP_CLOCK ? { 'onion.hop_clock': process.env.ONION_HOP_CLOCK } : {}),
      ...set,
    },
    setFor,
    mode,
    log: createLogger('testnet', (process.env.ONION_TEST_LOG as 'debug') ?? 'warn'),
  });
  const der: Uint8Array[] = [];
  for (const r of net.relays) {
    const peer = rpsPeerOf(r.hostkeyPath, r.p2p.onion!);
    rps.peers.push(peer);
    der.push(peer.hostkey);
  }
  rps.release();
  const clients: ApiClient[] = [];
  return {
    net,
    rps,
    der,
    debug: (i) => onionInstances.get(net.relays[i]!.p2p.onion!)!,
    client: async (i) => {
      const c = await ApiClient.connect(net.relays[i]!.api.onion!, { timeoutMs: 10_000 });
      clients.push(c);
      return c;
    },
    buildTo: (j) => {
      const p = rps.peers[j]!;
      return { type: 560, address: p.address, port: p.port, hostkey: p.hostkey };
    },
    stop: async () => {
      for (const c of clients) c.close();
      await net.stop();
      await rps.close();
    },
  };
}

/** Resolve when `cond` holds (polled on a short interval), reject after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Both ends of a tunnel send bursts of 3 one-cell DATA at once every 60 ms (a call's average rate
 * with a signalling burst's or a stalled page's timing); resolves with what each end received (the
 * first byte of each, 0..74 in order when nothing was lost or reordered) and what was sent.
 */
export async function sendBursts(
  a: ApiClient,
  outId: number,
  b: ApiClient,
  inId: number,
): Promise<{ got: number[][]; all: number[] }> {
  const got: number[][] = [[], []];
  for (const [k, c] of [a, b].entries())
    c.onMessage((m) => {
      if (m.type === MessageType.ONION_TUNNEL_DATA) got[k]!.push(m.data[0]!);
    });
  const BURSTS = 25;
  for (let k = 0; k < BURSTS; k++) {
    for (let j = 0; j < 3; j++) {
      const data = new Uint8Array(100).fill(k * 3 + j);
      a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: outId, data });
      b.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: inId, data });
    }
    await new Promise((r) => setTimeout(r, 60));
  }
  return { got, all: Array.from({ length: BURSTS * 3 }, (_, i) => i) };
}

/** A tunnel from relay `from`'s client to relay `to`'s: both clients, and the tunnel's id at each. */
export async function openTunnel(
  on: OnionNet,
  from: number,
  to: number,
): Promise<{ a: ApiClient; b: ApiClient; outId: number; inId: number }> {
  const a = await on.client(from);
  const b = await on.client(to);
  const inc = b.next(MessageType.ONION_TUNNEL_INCOMING);
  const ready = await a.request(on.buildTo(to), MessageType.ONION_TUNNEL_READY, 10_000);
  return { a, b, outId: ready.tunnelId, inId: (await inc).tunnelId };
}

export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
