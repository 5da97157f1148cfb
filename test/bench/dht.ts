// `npm run bench -- dht [--sizes=10,30,100] [--lookups=40] [--paths=3] [--k=20] [--liars=0.2]`: real DHT nodes
// (relay/dht, authenticated links on 127.0.0.1) in this process. For each N: joins the nodes, PUTs
// values, then measures iterative lookups from random nodes: hops (longest referral chain asked),
// latency p50/p95, and requests per lookup, for FIND_NODE of random ids and for GETs that were
// not answered from the local store. All nodes share one event loop (and RSA-4096 handshakes), so
// latencies are upper bounds of what separate machines would see. With --liars=F, a fraction F of
// the nodes (never node 0) collude and lie (`misbehave = liar`); PUTs and GETs then use honest nodes
// only and the GET success rate is the figure to watch.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../relay/config.ts';
import { readDhtConfig } from '../../relay/dht/config.ts';
import type { LookupResult } from '../../relay/dht/lookup.ts';
import { DhtNode } from '../../relay/dht/node.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { getKeys } from '../keypool.ts';

function option(args: string[], name: string, fallback: string): string {
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : fallback;
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;

async function startNodes(n: number, opts: { paths: number; k: number; liars: number }): Promise<DhtNode[]> {
  const keys = await getKeys(n);
  const liarCount = Math.floor(n * opts.liars);
  const isLiar = (i: number) => i >= n - liarCount;
  const ids = await Promise.all(
    keys.map(async (k) => Buffer.from((await loadHostkey(k)).identity).toString('hex')),
  );
  const colluders = ids.filter((_, i) => isLiar(i)).join(',');
  const dir = mkdtempSync(join(tmpdir(), 'dht-bench-'));
  const log = createLogger('bench', 'error');
  const nodes: DhtNode[] = [];
  const make = async (i: number) => {
    const boot = i === 0 ? '' : `bootstrapper = ${nodes[0]!.pool.address}\n`;
    const ini = `hostkey = ${keys[i]}\n[dht]\napi_address = 127.0.0.1:0\np2p_address = 127.0.0.1:0\n${boot}store = ${join(dir, `dht-${i}`)}\npow_bits = 4\nk = ${opts.k}\ndisjoint_paths = ${opts.paths}\nrequest_timeout = 3000\nget_timeout = 20000\n${isLiar(i) ? `misbehave = liar\ncolluders = ${colluders}\n` : ''}`;
    const cfg = readDhtConfig(parseConfigText(join(dir, `bench-${i}.ini`), ini).section('dht')!);
    const node = new DhtNode(cfg, await loadHostkey(keys[i]!), log.child(`n${i}`));
    await node.start();
    nodes[i] = node;
  };
  await make(0);
  // Join in small batches: every join costs RSA handshakes on the one shared event loop.
  for (let i = 1; i < n; i += 10)
    await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, j) => make(i + j)));
  return nodes;
}

interface Sample {
  ms: number;
  r: LookupResult;
}

function report(label: string, samples: Sample[]): void {
  if (samples.length === 0) {
    console.log(`  ${label.padEnd(26)} (no lookups: all answered from the local store)`);
    return;
  }
  const ms = samples.map((s) => s.ms);
  const hops = samples.map((s) => s.r.valueHop ?? s.r.hops);
  const msgs = samples.map((s) => s.r.queries);
  const found = samples.filter((s) => s.r.value || s.r.closest.length > 0).length;
  console.log(
    `  ${label.padEnd(26)} n=${String(samples.length).padStart(3)}  hops mean ${mean(hops).toFixed(2)} max ${Math.max(...hops)}` +
      `  latency p50 ${quantile(ms, 0.5).toFixed(1)} ms p95 ${quantile(ms, 0.95).toFixed(1)} ms` +
      `  msgs/lookup mean ${mean(msgs).toFixed(1)} p95 ${quantile(msgs, 0.95)}  ok ${found}/${samples.length}`,
  );
}

export async function run(args: string[]): Promise<void> {
  const sizes = option(args, 'sizes', '10,30,100').split(',').map(Number);
  const lookups = Number(option(args, 'lookups', '40'));
  const paths = Number(option(args, 'paths', '3'));
  const k = Number(option(args, 'k', '20'));
  const liars = Number(option(args, 'liars', '0'));
  console.log(
    `DHT lookups on loopback, one process: k=${k}, alpha=3, ${paths} disjoint path(s), ${lookups} lookups each` +
      (liars > 0 ? `, ${(liars * 100).toFixed(0)}% colluding liars` : ''),
  );
  for (const n of sizes) {
    const t0 = Date.now();
    const all = await startNodes(n, { paths, k, liars });
    const nodes = all.filter((x) => x.cfg.misbehave === 'none');
    const joinMs = Date.now() - t0;
    const findNode: Sample[] = [];
    for (let i = 0; i < lookups; i++) {
      const t = performance.now();
      const r = await pick(nodes).findNodes(new Uint8Array(randomBytes(32)), k);
      findNode.push({ ms: performance.now() - t, r });
    }
    const keys = Array.from({ length: 10 }, () => new Uint8Array(randomBytes(32)));
    await Promise.all(keys.map((key) => pick(nodes).put(key, new Uint8Array(randomBytes(256)), 600, 0)));
    const get: Sample[] = [];
    let local = 0;
    let misses = 0;
    for (let i = 0; i < lookups; i++) {
      const t = performance.now();
      const res = await pick(nodes).get(pick(keys));
      const ms = performance.now() - t;
      if (!res.value) misses++;
      if (res.lookup) get.push({ ms, r: res.lookup });
      else local++;
    }
    console.log(`N=${n} (joined in ${(joinMs / 1000).toFixed(1)} s)`);
    report('FIND_NODE random id', findNode);
    report(`GET (${local} local hits)`, get);
    console.log(`  GET failures ${misses}/${lookups}`);
    await Promise.all(all.map((x) => x.stop()));
  }
}
