// Acceptance: 30 relays, 3,000 queries spread over all of them return every other relay, and the
// counts pass a chi-square test against uniform (p > 0.001).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RpsNet, startRpsNet, uniformity, until } from './rps-helpers.ts';

const N = 30;
let t: RpsNet;

beforeAll(async () => {
  t = await startRpsNet({ relays: N });
  await until(() => t.rps.every((m) => m!.node.peers.size === N - 1), 40_000, 'all relays know each other');
}, 90_000);

afterAll(async () => {
  await t?.close();
});

describe('rps uniformity', () => {
  it('3,000 queries over 30 relays: every other relay returned, chi-square p > 0.001', async () => {
    const all = Array.from({ length: N }, (_, i) => i);
    const r = await uniformity(t, 100, all);
    console.log(`rps uniformity: chi2 = ${r.chi2.toFixed(1)} (df ${r.df}), p = ${r.p.toFixed(4)}`);
    expect(r.foreign).toBe(0);
    expect(r.missing).toEqual([]);
    expect(r.p).toBeGreaterThan(0.001);
  });
});
