// A short, seeded run of the fuzzer (npm run fuzz does 10^6 inputs per decoder): every decoder that
// takes bytes from the network or the browser gets 2,000 mutated and random inputs and may only
// reject them with its documented error. No timing assertions (hangs are npm run fuzz's job).
import { beforeAll, describe, expect, it } from 'vitest';
import { fuzzTarget } from '../fuzz/engine.ts';
import { buildTargets, type Target } from '../fuzz/targets.ts';

const INPUTS = 2000;
let targets: Target[] = [];

beforeAll(async () => {
  targets = await buildTargets();
}, 60_000);

describe('fuzz (short, seeded)', () => {
  it('covers every decoder family', () => {
    const names = targets.map((t) => t.name);
    for (const prefix of [
      'api-',
      'p2p-',
      'gossip-',
      'rps-',
      'dht-',
      'nse-',
      'onion-',
      'call-',
      'media-',
      'presence-',
      'bridge-',
    ])
      expect(names.some((n) => n.startsWith(prefix))).toBe(true);
  });

  it('no decoder throws anything but its documented error', { timeout: 300_000 }, async () => {
    const crashes: string[] = [];
    for (const t of targets) {
      const r = await fuzzTarget(t, INPUTS, 19);
      expect(r.inputs).toBe(INPUTS);
      for (const c of r.firstCrashes)
        crashes.push(`${t.name}: ${c.error.split('\n')[0]} (input ${c.input.slice(0, 80)})`);
    }
    expect(crashes).toEqual([]);
  });
});
