// [onion] options: documented defaults, ranges, and errors that name file, section and key.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../relay/config.ts';
import { readOnionConfig } from '../../relay/onion/config.ts';
import { OFFER_WAIT_MS } from '../../client/src/lib/calls/manager.ts';

const base = 'hostkey = k.pem\n[rps]\napi_address = 127.0.0.1:7002\n[onion]\napi_address = 127.0.0.1:7003\n';

describe('onion config', () => {
  it('applies the documented defaults', () => {
    const c = readOnionConfig(parseConfigText('/x/peer.ini', base));
    expect(c.hops).toBe(2);
    expect(c.roundSeconds).toBe(60);
    expect(c.buildTimeoutMs).toBe(5000);
    expect(c.p2pAddress).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.p2pAdvertise).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.rpsAddress).toEqual({ host: '127.0.0.1', port: 7002 });
    expect(c.coverTunnel).toBe(true);
    expect(c.inputQueueMs).toBe(100);
    expect(c.circuitQueueMs).toBe(250);
    expect(c.reassemblyBytes).toBe(32 * 1024 * 1024);
    expect(c.extendPrivateAddresses).toBe(true); // p2p_hostname 127.0.0.1 is itself private
    const pub = readOnionConfig(parseConfigText('/x/peer.ini', `${base}p2p_hostname = 203.0.113.7\n`));
    expect(pub.extendPrivateAddresses).toBe(false);
  });

  it('ends an unclaimed tunnel when the client drops one without an offer (issue 15: no oracle)', () => {
    // A stranger's tunnel must end at the same moment whether or not a client is connected there.
    const c = readOnionConfig(parseConfigText('/x/peer.ini', base));
    expect(c.unclaimedTunnelMs).toBe(OFFER_WAIT_MS);
  });

  it('rejects fewer than 2 hops, naming file, section and key', () => {
    expect(() => readOnionConfig(parseConfigText('/x/peer.ini', `${base}hops = 1\n`))).toThrow(
      /\/x\/peer\.ini: \[onion\] hops: 1 is out of range/,
    );
    expect(() => readOnionConfig(parseConfigText('/x/peer.ini', `${base}round_seconds = soon\n`))).toThrow(
      /round_seconds/,
    );
  });
});
