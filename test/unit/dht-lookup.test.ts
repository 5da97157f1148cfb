// The iterative lookup engine over a simulated network (the query function is the seam): finds
// the true k closest, finds values, bounds requests in flight, survives silent nodes and the
// overall deadline, keeps disjoint paths disjoint, and resists colluding liars better with d > 1.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type LookupOptions, lookup, type QueryFn } from '../../relay/dht/lookup.ts';
import type { Contact } from '../../relay/dht/routing.ts';
import { sortByDistance } from '../../relay/dht/xor.ts';

const id = () => new Uint8Array(randomBytes(32));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface SimNode {
  c: Contact;
  table: Contact[];
  liar: boolean;
  silent: boolean;
  values: Map<string, Uint8Array>;
}

function network(n: number, opts: { liars?: number; silent?: number; known?: number } = {}): SimNode[] {
  const nodes: SimNode[] = Array.from({ length: n }, (_, i) => ({
    c: { id: id(), host: '127.0.0.1', port: 1000 + i },
    table: [],
    liar: false,
    silent: false,
    values: new Map(),
  }));
  nodes.forEach((x, i) => {
    x.liar = i < (opts.liars ?? 0);
    x.silent = !x.liar && i < (opts.liars ?? 0) + (opts.silent ?? 0);
    const others = nodes.filter((y) => y !== x).map((y) => y.c);
    const near = sortByDistance(x.c.id, others).slice(0, 20);
    const random = others.sort(() => Math.random() - 0.5).slice(0, opts.known ?? 20);
    x.table = [...new Map([...near, ...random].map((c) => [hex(c.id), c])).values()];
  });
  return nodes;
}

function simQuery(nodes: SimNode[], k: number, log: string[] = []): QueryFn {
  const byId = new Map(nodes.map((x) => [hex(x.c.id), x]));
  const liars = nodes.filter((x) => x.liar).map((x) => x.c);
  return async (c, target, wantValue) => {
    log.push(hex(c.id));
    const node = byId.get(hex(c.id))!;
    await new Promise((r) => setImmediate(r));
    if (node.silent) return new Promise(() => {}); // never answers: the per-request timeout must fire
    if (node.liar) return { nodes: sortByDistance(target, liars).slice(0, k) };
    const v = wantValue ? node.values.get(hex(target)) : undefined;
    if (v) return { nodes: [], value: { value: v, ttl: 60 } };
    return { nodes: sortByDistance(target, node.table).slice(0, k) };
  };
}

function opts(
  nodes: SimNode[],
  from: SimNode,
  target: Uint8Array,
  o: Partial<LookupOptions> = {},
): LookupOptions {
  const k = o.k ?? 20;
  return {
    self: from.c.id,
    target,
    seeds: sortByDistance(target, from.table).slice(0, k),
    query: simQuery(nodes, k),
    k,
    alpha: 3,
    paths: 1,
    wantValue: false,
    requestTimeoutMs: 50,
    deadlineMs: 5000,
    ...o,
  };
}

describe('iterative lookup', () => {
  it('finds the true k closest nodes of a 300-node network', async () => {
    const nodes = network(300);
    const target = id();
    const truth = sortByDistance(
      target,
      nodes.map((x) => x.c),
    )
      .slice(0, 20)
      .map((c) => hex(c.id));
    for (const paths of [1, 3]) {
      const r = await lookup(opts(nodes, nodes[7]!, target, { paths }));
      const got = r.closest.map((c) => hex(c.id));
      const overlap = got.filter((x) => truth.includes(x)).length;
      expect(overlap).toBeGreaterThanOrEqual(18);
      expect(r.timedOut).toBe(false);
      expect(r.hops).toBeGreaterThan(0);
    }
  });

  it('finds a value stored at the closest nodes', async () => {
    const nodes = network(200);
    const key = id();
    for (const c of sortByDistance(
      key,
      nodes.map((x) => x.c),
    ).slice(0, 20)) {
      nodes.find((x) => x.c === c)!.values.set(hex(key), Uint8Array.of(42));
    }
    const r = await lookup(opts(nodes, nodes[3]!, key, { wantValue: true, paths: 3 }));
    expect(r.value && [...r.value.value]).toEqual([42]);
    expect(r.valueFrom).toBeDefined();
  });

  it('keeps at most alpha requests in flight per path and asks no node twice', async () => {
    const nodes = network(150);
    const asked: string[] = [];
    let inflight = 0;
    let peak = 0;
    const base = simQuery(nodes, 20, asked);
    const query: QueryFn = async (c, t, w) => {
      peak = Math.max(peak, ++inflight);
      try {
        return await base(c, t, w);
      } finally {
        inflight--;
      }
    };
    await lookup(opts(nodes, nodes[0]!, id(), { query, paths: 4, alpha: 2 }));
    expect(peak).toBeLessThanOrEqual(2 * 4);
    expect(new Set(asked).size).toBe(asked.length);
  });

  it('times out silent nodes and still completes', async () => {
    const nodes = network(100, { silent: 30 });
    const r = await lookup(opts(nodes, nodes[60]!, id(), { paths: 2 }));
    expect(r.failures).toBeGreaterThan(0);
    expect(r.timedOut).toBe(false);
    expect(r.closest.length).toBeGreaterThan(0);
  });

  it('falls back to backup contacts when all seeds are dead', async () => {
    const nodes = network(60, { silent: 6 });
    const key = id();
    const alive = nodes.filter((x) => !x.silent);
    for (const c of sortByDistance(
      key,
      alive.map((x) => x.c),
    ).slice(0, 3)) {
      alive.find((x) => x.c === c)!.values.set(hex(key), Uint8Array.of(3));
    }
    const dead = nodes.filter((x) => x.silent).map((x) => x.c);
    const backup = sortByDistance(
      key,
      alive.map((x) => x.c),
    ).slice(10, 16);
    const base = { wantValue: true, paths: 2, k: 3, seeds: dead.slice(0, 3) };
    expect((await lookup(opts(nodes, nodes[50]!, key, base))).value).toBeUndefined();
    const r = await lookup(opts(nodes, nodes[50]!, key, { ...base, backup }));
    expect(r.value && [...r.value.value]).toEqual([3]);
  });

  it('resolves at the overall deadline when nobody answers', async () => {
    const nodes = network(30, { silent: 30 });
    const r = await lookup(opts(nodes, nodes[0]!, id(), { requestTimeoutMs: 10_000, deadlineMs: 100 }));
    expect(r.timedOut).toBe(true);
    expect(r.value).toBeUndefined();
  });

  it('disjoint paths find values despite 25% colluding liars at least as often as one path', async () => {
    const nodes = network(200, { liars: 50, known: 10 });
    const k = 8;
    const rate = async (paths: number) => {
      let ok = 0;
      const trials = 40;
      for (let t = 0; t < trials; t++) {
        const key = id();
        const honest = nodes.filter((x) => !x.liar);
        for (const c of sortByDistance(
          key,
          honest.map((x) => x.c),
        ).slice(0, k)) {
          honest.find((x) => x.c === c)!.values.set(hex(key), Uint8Array.of(1));
        }
        const from = honest[t % honest.length]!;
        const r = await lookup(
          opts(nodes, from, key, { k, wantValue: true, paths, query: simQuery(nodes, k) }),
        );
        if (r.value) ok++;
      }
      return ok / trials;
    };
    const one = await rate(1);
    const four = await rate(4);
    console.log(`colluding liars 25%, k=${k}: success with 1 path ${one}, with 4 disjoint paths ${four}`);
    expect(four).toBeGreaterThanOrEqual(one);
    expect(four).toBeGreaterThan(0.9);
  });
});
