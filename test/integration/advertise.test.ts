// A relay bound to 0.0.0.0 tells peers its configured public address (issue 16): in its RPS record,
// in presence (the bridge's hello to the page) and, through those records, in the onion EXTENDs
// other relays make. One machine, so the "public" addresses are loopback aliases 127.0.0.10+i; the
// listeners bind 0.0.0.0 (the cross-host test on network namespaces is the netns helper's).
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiClient } from '../../relay/api/client.ts';
import { createLogger } from '../../relay/log.ts';
import { onionInstances } from '../../relay/onion/debug.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';
import { parseAddress } from '../../shared/address.ts';
import { identityOf, toHex } from '../../shared/identity.ts';
import { MessageType, ModuleId, type RpsPeer } from '../../shared/wire/types.ts';
import { FAST } from './rps-helpers.ts';

const N = 5;
const ip = (i: number) => `127.0.0.${10 + i}`;
const TOKEN = 'advertise-test-token-0123';
let net: Testnet;

beforeAll(async () => {
  net = await startTestnet({
    relays: N,
    advertise: ip,
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
}, 120_000);

afterAll(async () => {
  await net?.stop();
});

it('configs bind 0.0.0.0 and the listeners are bound there', () => {
  for (const m of net.relays[0]!.modules()) {
    if (m.name === 'bridge' || m.name === 'nse') continue;
    expect(m.listening.p2p, m.name).toMatch(/^0\.0\.0\.0:\d+$/);
  }
});

it('RPS records carry the advertised IP and each module port', async () => {
  const c = await ApiClient.connect(net.relays[0]!.api.rps!, { timeoutMs: 10_000 });
  const seen = new Map<string, RpsPeer>();
  const others = net.relays.slice(1).map((r) => r.identity);
  const end = Date.now() + 60_000;
  try {
    // One query at a time (RPS answers once it has a live peer); each answer is a random peer.
    while (!others.every((id) => seen.has(id))) {
      if (Date.now() > end) throw new Error(`RPS handed out ${seen.size} of ${others.length} relays`);
      const p = await c.request({ type: MessageType.RPS_QUERY }, MessageType.RPS_PEER, 15_000);
      seen.set(toHex(identityOf(p.hostkey)), p);
    }
  } finally {
    c.close();
  }
  for (const r of net.relays.slice(1)) {
    const p = seen.get(r.identity)!;
    expect(p.address).toBe(ip(r.index));
    const onion = p.portmap.find((e) => e.module === ModuleId.ONION)?.port;
    expect(onion).toBe(parseAddress(r.p2p.onion!).port);
  }
});

it('presence: the bridge tells the page the advertised onion address', async () => {
  const http = net.relays[0]!.p2p.bridge!;
  const ws = new WebSocket(`ws://${http}/ws?token=${TOKEN}`, { origin: `http://${http}` });
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
    expect(hello.onion).toEqual({ host: ip(0), port: parseAddress(net.relays[0]!.p2p.onion!).port });
  } finally {
    ws.close();
  }
});

it('onion EXTENDs go to the advertised addresses', async () => {
  const a = await ApiClient.connect(net.relays[0]!.api.onion!, { timeoutMs: 10_000 });
  const d = await ApiClient.connect(net.relays[4]!.api.onion!, { timeoutMs: 10_000 });
  try {
    const dest = parseAddress(net.relays[4]!.p2p.onion!);
    const { spkiDer } = await import('../../relay/hostkey.ts').then((h) =>
      h.loadHostkey(net.relays[4]!.hostkeyPath),
    );
    const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
    const ready = await a.request(
      { type: MessageType.ONION_TUNNEL_BUILD, address: dest.host, port: dest.port, hostkey: spkiDer },
      MessageType.ONION_TUNNEL_READY,
      30_000,
    );
    await inc;
    const path = onionInstances.get(net.relays[0]!.p2p.onion!)!.tunnelPath(ready.tunnelId);
    expect(path.length).toBe(3);
    const advertised = new Set(net.relays.map((r) => r.p2p.onion!));
    // Hops came from RPS records; each is dialled at the address its relay advertises.
    for (const hop of path) expect(advertised, hop).toContain(hop);
    expect(path[2]).toBe(`${ip(4)}:${dest.port}`);
    // And the link each hop was reached over went to that address, not 0.0.0.0 or 127.0.0.1.
    for (const hop of path) expect(hop).toMatch(/^127\.0\.0\.1[0-4]:/);
  } finally {
    a.close();
    d.close();
  }
}, 60_000);
