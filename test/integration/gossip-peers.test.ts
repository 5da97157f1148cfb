// Peer exchange against a real gossip module, with a raw link standing in for the neighbour:
// records that have no wire form are skipped (not a violation of whoever asked), and addresses a
// peer sends that point into loopback or private networks are not learnt by a relay that is not on
// one itself.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatAddress } from '../../shared/address.ts';
import { parseConfigText } from '../../relay/config.ts';
import { readGossipConfig } from '../../relay/gossip/config.ts';
import { create, type GossipModule } from '../../relay/gossip/index.ts';
import { PROTOCOL } from '../../relay/gossip/membership.ts';
import { decodePeers, encodePeers, GossipType, type PeerRecord } from '../../relay/gossip/protocol.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { connectLink, type Link } from '../../relay/p2p/index.ts';
import { getKeys } from '../keypool.ts';

const log = createLogger('gossip-peers-test', 'silent');
const POW = 8;
let pems: string[] = [];
let keys: Hostkey[] = [];
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
  pems = await getKeys(3);
  keys = await Promise.all(pems.map(loadHostkey));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A gossip module on 127.0.0.1 with free ports, no bootstrapper, degree 1 (dials nothing). */
async function relay(extra: string[] = []): Promise<GossipModule> {
  const ini = [
    `hostkey = ${pems[0]}`,
    '[gossip]',
    'api_address = 127.0.0.1:0',
    'p2p_address = 127.0.0.1:0',
    `pow_bits = ${POW}`,
    'degree = 1',
    ...extra,
  ].join('\n');
  const m = (await create({
    config: parseConfigText('/gossip-peers/relay.ini', ini),
    hostkey: keys[0]!,
    log,
  })) as GossipModule;
  cleanup.push(() => m.stop());
  return m;
}

/** A raw link to the relay that records what it gets and answers its PEERS_REQUEST with `offer`. */
async function neighbour(m: GossipModule, offer: PeerRecord[] = []) {
  const port = Number(m.membership.address.split(':').pop());
  const link: Link = await connectLink({
    address: { host: '127.0.0.1', port },
    hostkey: keys[1]!,
    protocol: PROTOCOL,
    powBits: POW,
    log,
  });
  cleanup.push(() => link.close('test over'));
  const peers: PeerRecord[][] = [];
  const waiters: (() => void)[] = [];
  const closed = new Promise<string>((r) => link.onClose(r));
  link.onMessage((type, body) => {
    if (type === GossipType.PEERS_REQUEST) link.send(GossipType.PEERS, encodePeers(offer));
    if (type === GossipType.PEERS) peers.push(decodePeers(body));
    for (const w of waiters.splice(0)) w();
  });
  /** The first PEERS answer, or the reason the relay closed the link; rejects after 5 s. */
  const answer = () =>
    Promise.race([
      new Promise<PeerRecord[]>((resolve) => {
        const check = () => (peers[0] ? resolve(peers[0]) : waiters.push(check));
        check();
      }),
      closed.then((why) => Promise.reject(new Error(`link closed: ${why}`))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no PEERS in 5 s')), 5000)),
    ]);
  return { link, answer, closed };
}

const id = (n: number) => new Uint8Array(32).fill(n);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('gossip peer exchange: records without a wire form', () => {
  it('encodePeers skips host names, zoned and port-0 addresses instead of throwing', () => {
    const good = { identity: id(1), address: { host: '192.0.2.1', port: 6001 } };
    const b = encodePeers([
      { identity: id(2), address: { host: 'boot.example.org', port: 6001 } },
      { identity: id(3), address: { host: 'localhost', port: 6001 } },
      { identity: id(4), address: { host: 'fe80::1%eth0', port: 6001 } },
      { identity: id(5), address: { host: '192.0.2.2', port: 0 } },
      good,
    ]);
    expect(decodePeers(b)).toEqual([good]);
  });

  it('still sends 32 records when some of the first 32 are names', () => {
    const named = Array.from({ length: 8 }, (_, i) => ({
      identity: id(100 + i),
      address: { host: `n${i}.example.org`, port: 1 },
    }));
    const ips = Array.from({ length: 32 }, (_, i) => ({
      identity: id(i + 1),
      address: { host: `192.0.2.${i + 1}`, port: 1 },
    }));
    expect(decodePeers(encodePeers([...named, ...ips]))).toHaveLength(32);
  });

  it('a relay whose book holds a bootstrapper by name answers PEERS_REQUEST instead of dropping the asker', async () => {
    const m = await relay();
    // As after a successful dial of a bootstrapper configured as localhost: its identity is known,
    // so peer exchange offers it (it is not a neighbour now, e.g. its link closed normally).
    const boot = { host: 'localhost', port: 9 };
    m.membership.book.addBootstrap(boot);
    m.membership.book.succeeded(formatAddress(boot), hex(id(9)));
    const n = await neighbour(m);
    n.link.send(GossipType.PEERS_REQUEST, new Uint8Array(0));
    const answer = await n.answer();
    expect(answer.map((r) => r.address.host)).not.toContain('localhost');
    expect(n.link.closed).toBe(false);
  });
});

describe('gossip peer exchange: private addresses from peers', () => {
  const offer: PeerRecord[] = [
    { identity: id(11), address: { host: '127.0.0.1', port: 22 } },
    { identity: id(12), address: { host: '10.1.2.3', port: 6001 } },
    { identity: id(13), address: { host: '192.168.1.1', port: 80 } },
    { identity: id(14), address: { host: 'fe80::1', port: 6001 } },
    { identity: id(15), address: { host: '::ffff:127.0.0.1', port: 6001 } },
    { identity: id(16), address: { host: '224.0.0.1', port: 6001 } },
    { identity: id(17), address: { host: '::1', port: 6001 } },
    // A public address, last: once it is in the book, the whole PEERS has been handled.
    { identity: id(18), address: { host: '192.0.2.77', port: 6001 } },
  ];

  async function learnt(extra: string[]): Promise<string[]> {
    const m = await relay(extra);
    await neighbour(m, offer);
    const hosts = () => m.membership.book.due(Number.POSITIVE_INFINITY).map((e) => e.address.host);
    const deadline = Date.now() + 5000;
    while (!hosts().includes('192.0.2.77')) {
      if (Date.now() > deadline) throw new Error('PEERS not handled in 5 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    return hosts();
  }

  it('a relay not on a private address learns only the public one', async () => {
    // (The raw neighbour does not listen, so its own inbound address is not in the book either.)
    expect(await learnt(['dial_private_addresses = false'])).toEqual(['192.0.2.77']);
  });

  it('a testnet relay (127.0.0.1) still learns loopback and private peers', async () => {
    const hosts = await learnt([]);
    expect(hosts).toEqual(expect.arrayContaining(['127.0.0.1', '10.1.2.3', 'fe80::1', '192.0.2.77']));
  });

  it('dial_private_addresses defaults to whether the advertised address is itself private', () => {
    const cfg = (addr: string, advertise = '') =>
      readGossipConfig(
        parseConfigText(
          '/x.ini',
          `hostkey = k.pem\n[gossip]\napi_address = 127.0.0.1:1\np2p_address = ${addr}\n${advertise}\n`,
        ).section('gossip')!,
      ).dialPrivateAddresses;
    expect(cfg('127.0.0.1:6001')).toBe(true);
    expect(cfg('10.0.0.5:6001')).toBe(true);
    expect(cfg('localhost:6001')).toBe(true);
    expect(cfg('0.0.0.0:6001', 'p2p_advertise = 198.51.100.7')).toBe(false);
    expect(cfg('[::]:6001', 'p2p_advertise = 2001:db8::7')).toBe(false);
    expect(cfg('0.0.0.0:6001', 'p2p_advertise = 10.0.0.5')).toBe(true);
    expect(cfg('198.51.100.7:6001')).toBe(false);
  });
});
