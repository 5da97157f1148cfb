// npm run bench -- rps [--relays=30] [--queries=100] [--attackers=6]
// Uniformity: a testnet of honest relays, `queries` RPS QUERY at every relay, chi-square against
// uniform. Attack: the same size with `attackers` attacker relays (push to everyone every round,
// answer pulls with attackers only); the attacker share among honest relays' samples.
import {
  attackerClass,
  peerId,
  type RpsNet,
  startRpsNet,
  uniformity,
  until,
} from '../integration/rps-helpers.ts';

function flag(args: string[], name: string, fallback: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : fallback;
}

async function warm(t: RpsNet, relays: number[], n: number): Promise<number> {
  const started = Date.now();
  await until(() => relays.every((i) => t.rps[i]!.node.peers.size === n - 1), 120_000, 'warm-up');
  return Date.now() - started;
}

async function latency(t: RpsNet, relay: number, n: number): Promise<string> {
  const ms: number[] = [];
  for (let k = 0; k < n; k++) {
    const s = performance.now();
    await t.query(relay, 1);
    ms.push(performance.now() - s);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(2);
  return `median ${q(0.5)} ms, p99 ${q(0.99)} ms (one query per connection, incl. TCP connect)`;
}

async function uniform(n: number, queries: number): Promise<void> {
  const t = await startRpsNet({ relays: n });
  try {
    const all = Array.from({ length: n }, (_, i) => i);
    const warmMs = await warm(t, all, n);
    const r = await uniformity(t, queries, all);
    const counts = [...r.counts.values()];
    console.log(`relays ${n}, warm-up ${(warmMs / 1000).toFixed(1)} s (every relay knows every other)`);
    console.log(
      `uniformity: ${n * queries} queries, counts min ${Math.min(...counts)} max ${Math.max(...counts)}`,
    );
    console.log(`uniformity: chi2 = ${r.chi2.toFixed(2)}, df = ${r.df}, p = ${r.p.toFixed(4)}`);
    console.log(`never returned: ${r.missing.length}, not a testnet relay or self: ${r.foreign}`);
    console.log(`query latency: ${await latency(t, 1, 200)}`);
  } finally {
    await t.close();
  }
}

async function attack(n: number, attackers: number, queries: number): Promise<void> {
  const bad = new Set<string>();
  const isAttacker = (i: number) => i >= n - attackers;
  const t = await startRpsNet({
    relays: n,
    classFor: (i) => (isAttacker(i) ? attackerClass((id) => bad.has(id)) : undefined),
  });
  try {
    for (let i = n - attackers; i < n; i++) bad.add(t.identities[i]!);
    const honest = Array.from({ length: n - attackers }, (_, i) => i);
    await warm(t, honest, n);
    const r0 = t.rps[0]!.node;
    const start = r0.rounds;
    await until(() => r0.rounds >= start + 10, 60_000, '10 rounds under attack');
    let total = 0;
    let hits = 0;
    for (const i of honest) {
      for (const p of await t.query(i, queries)) {
        total++;
        if (bad.has(peerId(p))) hits++;
      }
    }
    const views = honest.flatMap((i) => t.rps[i]!.node.brahms.view);
    const inViews = views.filter((id) => bad.has(id)).length / views.length;
    console.log(
      `attack: ${attackers} of ${n} relays (${((attackers / (n - 1)) * 100).toFixed(1)}% of each relay's peers)`,
    );
    console.log(
      `attack: attacker share among ${total} samples = ${((hits / total) * 100).toFixed(1)}% (goal <= 30%)`,
    );
    console.log(`attack: attacker share in honest views = ${(inViews * 100).toFixed(1)}%`);
  } finally {
    await t.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const n = flag(args, 'relays', 30);
  const queries = flag(args, 'queries', 100);
  const attackers = flag(args, 'attackers', Math.round(n * 0.2));
  await uniform(n, queries);
  await attack(n, attackers, Math.max(10, Math.round(queries / 2)));
}
