// Acceptance: 20% of the testnet are attacker relays that push to everyone they know every round
// and answer pulls with attacker records only. Brahms's limited pushes freeze the views they
// flood, and min-wise samplers count each identity once, so samples stay close to the honest mix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attackerClass, peerId, type RpsNet, startRpsNet, until } from './rps-helpers.ts';

const N = 30;
const ATTACKERS = 6;
const isAttackerIndex = (i: number) => i >= N - ATTACKERS;
let t: RpsNet;
let attackerIds: Set<string>;

beforeAll(async () => {
  const ids: string[] = [];
  const Attacker = attackerClass((id) => attackerIds.has(id));
  attackerIds = new Set<string>();
  t = await startRpsNet({ relays: N, classFor: (i) => (isAttackerIndex(i) ? Attacker : undefined) });
  for (let i = N - ATTACKERS; i < N; i++) ids.push(t.identities[i]!);
  for (const id of ids) attackerIds.add(id);
  const honest = t.rps.filter((_, i) => !isAttackerIndex(i));
  await until(() => honest.every((m) => m!.node.peers.size === N - 1), 45_000, 'honest relays know everyone');
  // Let the attack run for a while after warm-up.
  const r0 = t.rps[0]!.node;
  const start = r0.rounds;
  await until(() => r0.rounds >= start + 6, 20_000, '6 rounds under attack');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('rps under attack', () => {
  it('attacker share among honest relays\u2019 samples stays <= 30% (20% of relays attack)', async () => {
    let total = 0;
    let bad = 0;
    for (let i = 0; i < N - ATTACKERS; i++) {
      for (const p of await t.query(i, 50)) {
        total++;
        if (attackerIds.has(peerId(p))) bad++;
      }
    }
    const share = bad / total;
    const views = t.rps.filter((_, i) => !isAttackerIndex(i)).map((m) => m!.node.brahms.view);
    const inViews = views.flat().filter((id) => attackerIds.has(id)).length / views.flat().length;
    console.log(
      `rps attack: attacker share among ${total} samples = ${(share * 100).toFixed(1)}% ` +
        `(in views ${(inViews * 100).toFixed(1)}%; attackers are ${((ATTACKERS / (N - 1)) * 100).toFixed(1)}% of peers)`,
    );
    expect(share).toBeLessThanOrEqual(0.3);
  });
});
