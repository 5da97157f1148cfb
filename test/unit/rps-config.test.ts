// [rps] options: portmap from the other sections, advertised IP, sizes from the network size.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../relay/config.ts';
import { readRpsOptions, sizesFor } from '../../relay/rps/config.ts';

const ini = (rps: string, extra = '') =>
  parseConfigText(
    '/etc/voidphone/peer.ini',
    `hostkey = key.pem
[gossip]
api_address = 127.0.0.1:7001
p2p_address = 10.1.2.3:7002
[onion]
api_address = 127.0.0.1:7003
p2p_address = 10.1.2.3:7004
[dht]
api_address = 127.0.0.1:7005
p2p_address = 10.1.2.3:7006
${extra}
[rps]
${rps}
`,
  );

describe('rps config', () => {
  it('reads defaults, the portmap of every module and the advertised IP', () => {
    const o = readRpsOptions(
      ini('api_address = 127.0.0.1:7010\np2p_address = 10.1.2.3:7011\nstore = rps.json'),
    );
    expect(o.portmap).toEqual([
      { module: 500, port: 7002 },
      { module: 560, port: 7004 },
      { module: 650, port: 7006 },
      { module: 540, port: 7011 },
    ]);
    expect(o.mainPort).toBe(7002);
    expect(o.advertiseIp).toBe('10.1.2.3');
    expect(o.store).toBe('/etc/voidphone/rps.json');
    expect(o.roundMs).toBe(10_000);
    expect(o.gossipApi).toEqual({ host: '127.0.0.1', port: 7001 });
    expect(o.nseApi).toBeUndefined();
  });

  it('adds NSE when it has a p2p_address; a 0.0.0.0 bind advertises p2p_advertise', () => {
    const o = readRpsOptions(
      ini(
        'api_address = 127.0.0.1:7010\np2p_address = 0.0.0.0:7011\np2p_advertise = 10.1.2.3',
        '[nse]\napi_address = 127.0.0.1:7020\np2p_address = 10.1.2.3:7021',
      ),
    );
    expect(o.portmap).toContainEqual({ module: 520, port: 7021 });
    expect(o.advertiseIp).toBe('10.1.2.3');
    expect(o.nseApi).toEqual({ host: '127.0.0.1', port: 7020 });
    // Without p2p_advertise, 0.0.0.0 says nothing about where peers reach us: an error, not a guess.
    expect(() => readRpsOptions(ini('api_address = 127.0.0.1:7010\np2p_address = 0.0.0.0:7011'))).toThrow(
      /peer\.ini: \[rps\] p2p_advertise: missing/,
    );
  });

  it('names file, section and key on errors', () => {
    expect(() => readRpsOptions(ini('api_address = 127.0.0.1:7010'))).toThrow(
      /peer.ini: \[rps\] p2p_address/,
    );
    expect(() =>
      readRpsOptions(ini('api_address = x:1\np2p_address = 10.1.2.3:5\nalpha = 0.8\nbeta = 0.8')),
    ).toThrow(/\[rps\] beta/);
    expect(() =>
      readRpsOptions(ini('api_address = x:1\np2p_address = 10.1.2.3:5\nround_interval = soon')),
    ).toThrow(/round_interval/);
  });

  it('sizes view and samplers by the cube root of the network size, clamped', () => {
    const o = readRpsOptions(ini('api_address = 127.0.0.1:7010\np2p_address = 10.1.2.3:7011'));
    expect(sizesFor(1, o)).toEqual({ view: 6, samplers: 16 });
    expect(sizesFor(1000, o)).toEqual({ view: 40, samplers: 40 });
    expect(sizesFor(1e12, o)).toEqual({ view: 256, samplers: 512 });
  });
});
