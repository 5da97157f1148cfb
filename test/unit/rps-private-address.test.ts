// A relay on a public address takes no peer record that names a loopback or private address (it and
// everyone it hands the record to would dial into their own networks); a testnet on 127.0.0.1 does.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../relay/config.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { readRpsOptions } from '../../relay/rps/config.ts';
import { RpsNode } from '../../relay/rps/node.ts';
import { signRecord } from '../../relay/rps/record.ts';
import { getKeys } from '../keypool.ts';

let me: Hostkey;
let peer: Hostkey;
beforeAll(async () => {
  [me, peer] = await Promise.all((await getKeys(2)).map(loadHostkey));
});

function node(ip: string): RpsNode {
  const cfg = parseConfigText(
    '/x/peer.ini',
    `hostkey = k.pem\n[rps]\napi_address = 127.0.0.1:7010\np2p_address = ${ip}:7011\n`,
  );
  return new RpsNode({ opts: readRpsOptions(cfg), hostkey: me, log: createLogger('t', 'silent') });
}
const record = (address: string) =>
  signRecord({ address, portmap: [{ module: 540, port: 7011 }], time: Date.now() }, peer).bytes;

describe('rps records with private addresses', () => {
  it('are refused by a relay on a public address, taken by one on a private address', () => {
    const pub = node('203.0.113.7');
    expect(pub.opts.dialPrivateAddresses).toBe(false);
    expect(() => pub.accept(record('127.0.0.1'), 'pull')).toThrow(/loopback or private/);
    expect(() => pub.accept(record('10.9.8.7'), 'gossip')).toThrow(/loopback or private/);
    expect(pub.accept(record('198.51.100.9'), 'pull').address).toBe('198.51.100.9');
    const lan = node('127.0.0.1');
    expect(lan.opts.dialPrivateAddresses).toBe(true);
    expect(lan.accept(record('127.0.0.1'), 'pull').address).toBe('127.0.0.1');
  });
});
