// Bind and advertised addresses of every P2P listener (issue 16): p2p_address is where a listener
// binds, p2p_advertise what peers are told, read the same way in gossip, rps, onion and dht.
import { describe, expect, it } from 'vitest';
import { readOptions as readBridgeOptions } from '../../relay/bridge/options.ts';
import { parseConfigText } from '../../relay/config.ts';
import { readDhtConfig } from '../../relay/dht/config.ts';
import { readGossipConfig } from '../../relay/gossip/config.ts';
import { readOnionConfig } from '../../relay/onion/config.ts';
import { readRpsOptions } from '../../relay/rps/config.ts';

const FILE = '/etc/voidphone/peer.ini';
const PUB = '203.0.113.5';

/** A relay bound to 0.0.0.0 in every section; `extra[section]` adds lines to that section. */
function ini(extra: Record<string, string> = {}, advertise = `p2p_advertise = ${PUB}`) {
  const sec = (name: string, body: string) => `[${name}]\n${body}\n${extra[name] ?? ''}\n`;
  return parseConfigText(
    FILE,
    `hostkey = key.pem\n${sec('gossip', `api_address = 127.0.0.1:7001\np2p_address = 0.0.0.0:6001\n${advertise}`)}${sec(
      'rps',
      `api_address = 127.0.0.1:7401\np2p_address = 0.0.0.0:6401\n${advertise}`,
    )}${sec('onion', `api_address = 127.0.0.1:7601\np2p_address = 0.0.0.0:6601\n${advertise}`)}${sec(
      'dht',
      `api_address = 127.0.0.1:7651\np2p_address = 0.0.0.0:6651\n${advertise}`,
    )}${sec('bridge', 'http_address = 127.0.0.1:0')}`,
  );
}

const readers = {
  gossip: (c: ReturnType<typeof ini>) => readGossipConfig(c.section('gossip')!),
  rps: (c: ReturnType<typeof ini>) => readRpsOptions(c),
  onion: (c: ReturnType<typeof ini>) => readOnionConfig(c),
  dht: (c: ReturnType<typeof ini>) => readDhtConfig(c.section('dht')!),
};

describe('p2p_address and p2p_advertise', () => {
  it('bind 0.0.0.0 and advertise the public IP in every section', () => {
    const c = ini();
    const g = readGossipConfig(c.section('gossip')!);
    expect(g.p2pAddress).toEqual({ host: '0.0.0.0', port: 6001 });
    expect(g.p2pAdvertise).toEqual({ host: PUB, port: 6001 });
    expect(g.dialPrivateAddresses).toBe(false);
    expect(readDhtConfig(c.section('dht')!).p2pAdvertise).toEqual({ host: PUB, port: 6651 });
    const o = readOnionConfig(c);
    expect(o.p2pAddress).toEqual({ host: '0.0.0.0', port: 6601 });
    expect(o.p2pAdvertise).toEqual({ host: PUB, port: 6601 });
    expect(o.extendPrivateAddresses).toBe(false);
    const r = readRpsOptions(c);
    expect(r.p2pAddress).toEqual({ host: '0.0.0.0', port: 6401 });
    expect(r.advertiseIp).toBe(PUB);
    // Presence: the bridge tells the page the onion address friends reach, never 0.0.0.0.
    expect(readBridgeOptions(c).onionP2p).toEqual({ host: PUB, port: 6601 });
  });

  it('a NAT forwarding other ports: p2p_advertise with a port goes into the RPS portmap', () => {
    const c = ini({ onion: '' }, `p2p_advertise = ${PUB}:16000`);
    expect(readRpsOptions(c).portmap).toEqual([
      { module: 500, port: 16000 },
      { module: 560, port: 16000 },
      { module: 650, port: 16000 },
      { module: 540, port: 16000 },
    ]);
    expect(readBridgeOptions(c).onionP2p).toEqual({ host: PUB, port: 16000 });
  });

  for (const [name, read] of Object.entries(readers)) {
    it(`[${name}] 0.0.0.0 without p2p_advertise is an error naming file, section and key`, () => {
      expect(() => read(ini({}, ''))).toThrow(
        new RegExp(`^${FILE}: \\[${name}\\] p2p_advertise: missing: p2p_address binds "0\\.0\\.0\\.0"`),
      );
    });

    it(`[${name}] refuses an unspecified or (bound publicly) loopback advertised address`, () => {
      expect(() => read(ini({}, 'p2p_advertise = 0.0.0.0'))).toThrow(
        new RegExp(`\\[${name}\\] p2p_advertise: 0\\.0\\.0\\.0 is no address`),
      );
      expect(() => read(ini({}, 'p2p_advertise = [::]:1'))).toThrow(/p2p_advertise: :: is no address/);
      expect(() => read(ini({}, 'p2p_advertise = 127.0.0.2'))).toThrow(
        new RegExp(
          `\\[${name}\\] p2p_advertise: advertises loopback 127\\.0\\.0\\.2 while bound to 0\\.0\\.0\\.0`,
        ),
      );
      expect(() => read(ini({}, 'p2p_advertise = relay.example.org'))).toThrow(
        /p2p_advertise: "relay.example.org" is not an IP address/,
      );
    });
  }

  it('a test network of loopback aliases: allowed when the private-addresses key says so', () => {
    const yes = {
      gossip: 'dial_private_addresses = true',
      rps: 'dial_private_addresses = true',
      onion: 'extend_private_addresses = true',
      dht: 'dial_private_addresses = true',
    };
    const c = ini(yes, 'p2p_advertise = 127.0.0.2');
    expect(readRpsOptions(c).advertiseIp).toBe('127.0.0.2');
    expect(readOnionConfig(c).p2pAdvertise).toEqual({ host: '127.0.0.2', port: 6601 });
    expect(readBridgeOptions(c).onionP2p).toEqual({ host: '127.0.0.2', port: 6601 });
  });

  it('every module advertises the one IP the RPS record carries', () => {
    const c = parseConfigText(
      FILE,
      `hostkey = k\n[rps]\napi_address = 127.0.0.1:1\np2p_address = ${PUB}:6401\n[onion]\napi_address = 127.0.0.1:2\np2p_address = 0.0.0.0:6601\np2p_advertise = 198.51.100.1\n`,
    );
    expect(() => readRpsOptions(c)).toThrow(
      /\[onion\] p2p_advertise: 198\.51\.100\.1 differs from \[rps\] p2p_advertise 203\.0\.113\.5/,
    );
  });
});

describe('deprecated names, still read with a warning', () => {
  const onionOnly = (body: string) =>
    parseConfigText(FILE, `hostkey = k\n[onion]\napi_address = 127.0.0.1:7601\n${body}\n`);

  it('[onion] p2p_hostname + p2p_port = p2p_address', () => {
    const c = onionOnly(`p2p_hostname = ${PUB}\np2p_port = 6601`);
    const o = readOnionConfig(c);
    expect(o.p2pAddress).toEqual({ host: PUB, port: 6601 });
    expect(o.p2pAdvertise).toEqual({ host: PUB, port: 6601 });
    expect([...c.warnings]).toEqual([
      `${FILE}: [onion] p2p_hostname: p2p_hostname/p2p_port are deprecated: write "p2p_address = ${PUB}:6601"`,
    ]);
  });

  it('[onion] p2p_hostname = 0.0.0.0 is no longer announced as 0.0.0.0', () => {
    expect(() => readOnionConfig(onionOnly('p2p_hostname = 0.0.0.0\np2p_port = 6601'))).toThrow(
      /\[onion\] p2p_advertise: missing/,
    );
    const c = onionOnly(`p2p_hostname = 0.0.0.0\np2p_port = 6601\np2p_advertise = ${PUB}`);
    expect(readOnionConfig(c).p2pAdvertise).toEqual({ host: PUB, port: 6601 });
    expect(() => readOnionConfig(onionOnly('p2p_hostname = 0.0.0.0\np2p_address = 0.0.0.0:1'))).toThrow(
      /\[onion\] p2p_hostname: p2p_hostname\/p2p_port are replaced by p2p_address/,
    );
  });

  it('[rps] advertise_ip = p2p_advertise', () => {
    const c = parseConfigText(
      FILE,
      `hostkey = k\n[rps]\napi_address = 127.0.0.1:1\np2p_address = 0.0.0.0:6401\nadvertise_ip = ${PUB}\n`,
    );
    expect(readRpsOptions(c).advertiseIp).toBe(PUB);
    expect([...c.warnings][0]).toMatch(
      /\[rps\] advertise_ip: advertise_ip is deprecated: write "p2p_advertise = /,
    );
  });
});
