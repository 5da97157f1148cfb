// npm run bench -- gossip [--sizes=10,30,100] [--items=20] [--degree=8] [--lazy=1]
// For each network size: N gossip relays in this process on loopback (node 0 bootstraps all), one
// auto-validating subscriber per relay; announces items one at a time from random relays and
// prints the time until 50/90/99% of the other relays were notified, and PUSH messages sent per
// relay per item, and the coverage tail: time until the last relay had the item (t100) and the
// worst item's coverage within 3 s. --lazy=0 turns the lazy push (IHAVE/IWANT) off to compare.
// Figures, not assertions.
import { performance } from 'node:perf_hooks';
import { ApiClient } from '../../relay/api/client.ts';
import { type GossipNet, startGossipNet, waitFor } from '../../relay/dev/gossip-net.ts';
import { gossipStats } from '../../relay/gossip/stats.ts';
import { getKeys } from '../keypool.ts';

const T = 7201;

function flag(args: string[], name: string, fallback: string): string {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

async function attach(net: GossipNet, arrivals: Map<string, number>[]): Promise<ApiClient[]> {
  return Promise.all(
    net.nodes.map(async (node, i) => {
      const c = await ApiClient.connect(node.api, { timeoutMs: 10_000 });
      arrivals[i] = new Map();
      c.onMessage((m) => {
        if (m.type !== 502) return;
        arrivals[i]!.set(new TextDecoder().decode(m.data), performance.now());
        c.send({ type: 503, messageId: m.messageId, valid: true });
      });
      c.send({ type: 501, dataType: T });
      await waitFor(() => node.module!.subs.has(T), 5000, 'subscribed');
      return c;
    }),
  );
}

async function one(n: number, items: number, degree: string, lazy: string): Promise<string> {
  const keys = await getKeys(n);
  const set = {
    lazy_push: lazy === '0' ? 'false' : 'true',
    pow_bits: '8',
    degree,
    maintain_interval_ms: '200',
    pex_interval_ms: '1000',
    dial_backoff_ms: '200',
  };
  const formedAt = performance.now();
  const net = await startGossipNet({ keys, set });
  const arrivals: Map<string, number>[] = [];
  const clients = await attach(net, arrivals);
  const want = Math.ceil(0.75 * Math.min(Number(degree), n - 1));
  await waitFor(
    () => net.nodes.every((x) => x.module!.membership.neighbours.size >= want),
    120_000,
    'formed',
  );
  const formMs = performance.now() - formedAt;
  const t50: number[] = [];
  const t90: number[] = [];
  const t99: number[] = [];
  const t100: number[] = [];
  const sent: number[] = [];
  const lazyBefore = gossipStats.ihaveSent + gossipStats.iwantSent;
  let full = 0;
  let worst = Number.POSITIVE_INFINITY;
  for (let k = 0; k < items; k++) {
    const at = Math.floor(Math.random() * n);
    const data = `bench ${n} ${k}`;
    const before = gossipStats.itemsSent;
    const t0 = performance.now();
    clients[at]!.send({ type: 500, ttl: 0, dataType: T, data: new TextEncoder().encode(data) });
    const others = arrivals.filter((_, i) => i !== at);
    await waitFor(() => others.every((a) => a.has(data)), 3000, data, 5).catch(() => {});
    const times = others.map((a) => a.get(data)).filter((x): x is number => x !== undefined);
    times.sort((a, b) => a - b);
    const at_ = (p: number) => {
      const need = Math.ceil(p * others.length);
      return times.length >= need ? times[need - 1]! - t0 : Number.NaN;
    };
    t50.push(at_(0.5));
    t90.push(at_(0.9));
    t99.push(at_(0.99));
    t100.push(times.length === others.length ? times[times.length - 1]! - t0 : Number.POSITIVE_INFINITY);
    if (times.length === others.length) full++;
    worst = Math.min(worst, times.length);
    await new Promise((r) => setTimeout(r, 50)); // let in-flight duplicates land before counting
    sent.push((gossipStats.itemsSent - before) / n);
  }
  const lazyFrames = (gossipStats.ihaveSent + gossipStats.iwantSent - lazyBefore) / n / items;
  for (const c of clients) c.close();
  await net.stop();
  const f = (xs: number[]) => `${pct(xs, 0.5).toFixed(1)}/${pct(xs, 0.9).toFixed(1)}`;
  const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : '> 3 s');
  return [
    `N=${String(n).padEnd(4)}`,
    `formed ${(formMs / 1000).toFixed(1)} s`,
    `t50 ${f(t50)} ms`,
    `t90 ${f(t90)} ms`,
    `t99 ${f(t99)} ms`,
    `msgs/relay/item ${(sent.reduce((a, b) => a + b, 0) / sent.length).toFixed(2)}`,
    `IHAVE+IWANT frames/relay/item ${lazyFrames.toFixed(2)}`,
    `\n  tail: full coverage ${full}/${items}, worst item ${worst}/${n - 1} relays within 3 s;`,
    `time to 100 % median ${ms(pct(t100, 0.5))}, p90 ${ms(pct(t100, 0.9))}, max ${ms(pct(t100, 1))}`,
  ].join('  ');
}

export async function run(args: string[]): Promise<void> {
  const sizes = flag(args, 'sizes', '10,30,100').split(',').map(Number);
  const items = Number(flag(args, 'items', '20'));
  const degree = flag(args, 'degree', '8');
  const lazy = flag(args, 'lazy', '1');
  console.log(
    `gossip: ${items} items per size, degree ${degree}, lazy push ${lazy === '0' ? 'off' : 'on'}; times are median/p90 over items`,
  );
  for (const n of sizes) console.log(await one(n, items, degree, lazy));
}
