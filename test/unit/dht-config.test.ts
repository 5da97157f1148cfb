// [dht] config: documented defaults, ranges, errors naming file/section/key; the lookup limiter.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../relay/config.ts';
import { readDhtConfig } from '../../relay/dht/config.ts';
import { Limiter } from '../../relay/dht/limiter.ts';

const section = (extra: string) =>
  parseConfigText(
    '/etc/peer.ini',
    `hostkey = k.pem\n[dht]\napi_address = 127.0.0.1:7001\np2p_address = 127.0.0.1:7002\n${extra}`,
  ).section('dht')!;

describe('[dht] config', () => {
  it('applies the documented defaults', () => {
    const c = readDhtConfig(section(''));
    expect(c).toMatchObject({
      k: 20,
      alpha: 3,
      disjointPaths: 3,
      maxReplication: 40,
      maxTtl: 86400,
      storeDir: '/etc/dht-store',
      powBits: 16,
      requestTimeoutMs: 2000,
      getTimeoutMs: 10000,
      quotaBytes: 1048576,
      misbehave: 'none',
    });
    expect(c.bootstrappers).toEqual([]);
  });

  it('reads options and names file, section and key in errors', () => {
    const c = readDhtConfig(
      section('k = 8\nbootstrapper = 127.0.0.1:9000, 10.0.0.1:9001\nstore = /var/dht\n'),
    );
    expect(c.k).toBe(8);
    expect(c.bootstrappers).toHaveLength(2);
    expect(c.storeDir).toBe('/var/dht');
    expect(() => readDhtConfig(section('k = 99\n'))).toThrow(
      /\/etc\/peer.ini: \[dht\] k: 99 is out of range/,
    );
    expect(() => readDhtConfig(section('misbehave = maybe\n'))).toThrow(/\[dht\] misbehave/);
  });
});

describe('lookup limiter', () => {
  it('runs at most max at once, queues a bounded number, refuses the rest', async () => {
    const l = new Limiter(2, 1);
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const job = () =>
      l.run(async () => {
        peak = Math.max(peak, ++running);
        await new Promise<void>((r) => gates.push(r));
        running--;
      });
    const a = job();
    const b = job();
    const c = job();
    await expect(job()).rejects.toThrow(/busy/);
    while (gates.length < 2) await new Promise((r) => setImmediate(r));
    gates.shift()!();
    gates.shift()!();
    while (gates.length < 1) await new Promise((r) => setImmediate(r));
    gates.shift()!();
    await Promise.all([a, b, c]);
    expect(peak).toBe(2);
  });
});
