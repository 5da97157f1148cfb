// Issue 19, DHT: per-IP and per-subnet limits on routing-table contacts and stored entries. Identities
// cost only PoW: before, one host could fill a routing table with its identities, and ~16 of them
// filled max_entries of the value store. Loopback is exempt (testnets run on 127.0.0.1).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../relay/config.ts';
import { readDhtConfig } from '../../relay/dht/config.ts';
import { netGroup } from '../../relay/dht/netgroup.ts';
import { type Contact, RoutingTable } from '../../relay/dht/routing.ts';
import { ENTRY_OVERHEAD, type StoredValue, ValueStore } from '../../relay/dht/storage.ts';

const id = () => new Uint8Array(randomBytes(32));
const at = (host: string, port = 7000): Contact => ({ id: id(), host, port });
const self = id();
const table = () => new RoutingTable(self, { k: 20, ping: async () => true, maxPerIp: 2, maxPerSubnet: 8 });

describe('netGroup', () => {
  it('groups IPv4 by /24 and IPv6 by /48; an IPv4-mapped address is its IPv4 address; loopback is exempt', () => {
    expect(netGroup('192.0.2.7')!.subnet).toBe(netGroup('192.0.2.200')!.subnet);
    expect(netGroup('192.0.2.7')!.subnet).not.toBe(netGroup('192.0.3.7')!.subnet);
    expect(netGroup('2001:db8:1::1')!.subnet).toBe(netGroup('2001:db8:1:ffff::2')!.subnet);
    expect(netGroup('2001:db8:1::1')!.subnet).not.toBe(netGroup('2001:db8:2::1')!.subnet);
    expect(netGroup('::ffff:192.0.2.7')).toEqual(netGroup('192.0.2.7'));
    expect(netGroup('127.0.0.1')).toBeUndefined();
    expect(netGroup('::1')).toBeUndefined();
  });
});

describe('routing table: contacts per address', () => {
  it('holds at most 2 identities at one IP', () => {
    const rt = table();
    for (let i = 0; i < 30; i++) rt.seen(at('192.0.2.1', 7000 + i));
    expect(rt.size).toBe(2);
  });

  it('holds at most 8 identities in one /24', () => {
    const rt = table();
    for (let i = 0; i < 30; i++) rt.seen(at(`192.0.2.${i + 1}`));
    expect(rt.size).toBe(8);
    rt.seen(at('198.51.100.1'));
    expect(rt.size).toBe(9);
  });

  it('loopback is exempt', () => {
    const rt = table();
    // 15, not more: well over both limits, and too few random ids to overfill one k = 20 bucket
    // (30 did, about once in 50 runs: half of all random ids share the farthest bucket).
    for (let i = 0; i < 15; i++) rt.seen(at('127.0.0.1', 7000 + i));
    expect(rt.size).toBe(15);
  });

  it('a known contact moving to a crowded address keeps its old one', () => {
    const rt = table();
    rt.seen(at('192.0.2.1'));
    rt.seen(at('192.0.2.1', 7001));
    const c = at('198.51.100.9');
    rt.seen(c);
    rt.seen({ ...c, host: '192.0.2.1', port: 9999 });
    expect(rt.get(c.id)!.host).toBe('198.51.100.9');
  });

  it('the relay reads its limits from [dht] (defaults 2 per IP, 8 per subnet; quotas 2x and 4x quota)', () => {
    const cfg = readDhtConfig(
      parseConfigText(
        '/x.ini',
        'hostkey = k.pem\n[dht]\napi_address = 127.0.0.1:1\np2p_address = 127.0.0.1:2\n',
      ).section('dht')!,
    );
    expect([cfg.maxContactsPerIp, cfg.maxContactsPerSubnet]).toEqual([2, 8]);
    expect([cfg.ipQuotaBytes, cfg.subnetQuotaBytes]).toEqual([2 * cfg.quotaBytes, 4 * cfg.quotaBytes]);
  });
});

describe('value store: quota per address', () => {
  const quota = 10 * (ENTRY_OVERHEAD + 35);
  const store = () =>
    new ValueStore(
      {
        perPeerBytes: quota,
        totalBytes: 1e9,
        maxEntries: 1000,
        perIpBytes: 2 * quota,
        perSubnetBytes: 4 * quota,
      },
      () => 0,
    );
  const sv = (from: string, host: string): StoredValue => ({
    key: id(),
    value: Uint8Array.of(1, 2, 3),
    expiresAt: 10_000,
    from,
    fromHost: host,
    replication: 0,
    published: false,
    lastPushed: 0,
  });
  /** How many entries `peers` identities at `hosts` get stored, each trying 20. */
  const fill = (s: ValueStore, peers: number, host: (p: number) => string, tag = 'peer') => {
    let stored = 0;
    for (let p = 0; p < peers; p++)
      for (let i = 0; i < 20; i++) if (s.put(sv(`${tag}${p}`, host(p))) === 'stored') stored++;
    return stored;
  };

  it('16 identities at one IP store what 2 may', () => {
    expect(fill(store(), 16, () => '192.0.2.1')).toBe(20);
  });

  it('16 identities in one /24 store what 4 may', () => {
    expect(fill(store(), 16, (p) => `192.0.2.${p + 1}`)).toBe(40);
  });

  it('loopback and our own values are exempt; removal gives the quota back', () => {
    const s = store();
    expect(fill(s, 4, () => '127.0.0.1')).toBe(40);
    const v = sv('peerX', '192.0.2.1');
    expect(fill(s, 2, () => '192.0.2.1', 'remote')).toBe(20);
    expect(s.put(v)).toBe('quota');
    expect(s.put({ ...v, fromHost: undefined, from: '' })).toBe('stored');
  });
});
