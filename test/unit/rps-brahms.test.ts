// Brahms core: min-wise samplers resist repetition, limited pushes freeze the view, dead peers
// leave, handed-out samplers restart.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Brahms, pick } from '../../relay/rps/brahms.ts';
import { PeerTable } from '../../relay/rps/peers.ts';
import type { PeerRecord } from '../../relay/rps/record.ts';
import { Sampler, SamplerSet } from '../../relay/rps/sampler.ts';

const id = () => randomBytes(32).toString('hex');

function fakeRecord(hex: string, time = 1000): PeerRecord {
  return {
    id: hex,
    identity: Buffer.from(hex, 'hex'),
    hostkey: new Uint8Array(1),
    bytes: new Uint8Array(1),
    address: '127.0.0.1',
    portmap: [{ module: 540, port: 1 }],
    time,
  };
}

/** Chi-square statistic of counts against a uniform expectation. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const e = total / counts.length;
  return counts.reduce((a, c) => a + (c - e) ** 2 / e, 0);
}

describe('Sampler', () => {
  it('picks uniformly among distinct ids, however often one repeats', () => {
    const honest = Array.from({ length: 9 }, id);
    const attacker = id();
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const s = new Sampler();
      for (const h of honest) s.next(h);
      for (let k = 0; k < 50; k++) s.next(attacker); // flooding the stream does not help
      counts.set(s.sample!, (counts.get(s.sample!) ?? 0) + 1);
    }
    expect(counts.size).toBe(10);
    // 9 degrees of freedom: 27.9 is the p = 0.001 critical value.
    expect(chiSquare([...counts.values()])).toBeLessThan(27.9);
    expect(counts.get(attacker)!).toBeLessThan(3000 * 0.15);
  });

  it('is order independent and restorable from its key', () => {
    const ids = Array.from({ length: 20 }, id);
    const s1 = new Sampler();
    for (const x of ids) s1.next(x);
    const s2 = new Sampler(s1.key);
    for (const x of [...ids].reverse()) s2.next(x);
    expect(s2.sample).toBe(s1.sample);
    const r = Sampler.restore(s1.key, s1.sample);
    for (const x of ids) r.next(x);
    expect(r.sample).toBe(s1.sample);
  });

  it('SamplerSet evicts a dead sample and refills from history', () => {
    const ids = Array.from({ length: 30 }, id);
    const set = new SamplerSet(40);
    for (const x of ids) set.feed(x);
    const victim = set.samples()[0]!;
    const rest = ids.filter((x) => x !== victim);
    expect(set.evict(victim, rest)).toBeGreaterThan(0);
    expect(set.samples()).not.toContain(victim);
    expect(set.samplers.every((s) => s.sample !== null)).toBe(true);
  });
});

describe('PeerTable', () => {
  it('never holds itself; keeps the newest record; tombstones until a newer record', () => {
    const self = id();
    const t = new PeerTable(self, 100, 60_000);
    expect(t.add(fakeRecord(self), 0)).toBe('self');
    const p = id();
    expect(t.add(fakeRecord(p, 10), 0)).toBe('new');
    expect(t.add(fakeRecord(p, 10), 0)).toBe('stale');
    expect(t.add(fakeRecord(p, 11), 0)).toBe('updated');
    t.markDead(p, 0);
    expect(t.has(p)).toBe(false);
    expect(t.add(fakeRecord(p, 11), 0)).toBe('dead');
    expect(t.add(fakeRecord(p, 12), 0)).toBe('new');
    // The peer pushing itself (proof of life) lifts the tombstone even with an old record.
    t.markDead(p, 0);
    expect(t.add(fakeRecord(p, 12), 0, 5)).toBe('new');
    // A tombstone blocks old records only for tombstone_ttl (60 s here).
    t.markDead(p, 0);
    expect(t.add(fakeRecord(p, 12), 59_000)).toBe('dead');
    expect(t.add(fakeRecord(p, 12), 61_000)).toBe('new');
  });

  it('is bounded: when full, only a stale entry makes room', () => {
    const t = new PeerTable(id(), 16, 1000);
    for (let i = 0; i < 16; i++) expect(t.add(fakeRecord(id()), 0)).toBe('new');
    expect(t.add(fakeRecord(id()), 500)).toBe('full');
    expect(t.add(fakeRecord(id()), 2000)).toBe('new');
    expect(t.size).toBe(16);
  });
});

function brahmsWith(n: number, viewSize = 10) {
  const peers = new PeerTable(id(), 1000, 60_000);
  const ids = Array.from({ length: n }, id);
  for (const x of ids) peers.add(fakeRecord(x), 0);
  const b = new Brahms(peers, viewSize, 20, { alpha: 0.45, beta: 0.45 });
  for (const x of ids) b.learn(x);
  b.topUp();
  return { b, ids, peers };
}

describe('Brahms', () => {
  it('renews the view from pushes, pulls and history', () => {
    const { b, ids } = brahmsWith(50);
    b.receivePush(ids[0]!);
    b.receivePush(ids[1]!);
    b.receivePull(ids.slice(10, 20));
    const r = b.endRound();
    expect(r).toMatchObject({ updated: true, reason: 'ok' });
    expect(b.view).toContain(ids[0]);
    expect(b.view).toContain(ids[1]);
    expect(b.view.length).toBe(10);
    expect(new Set(b.view).size).toBe(10);
  });

  it('limited pushes: more pushes than α·l1 leave the view unchanged', () => {
    const { b, ids } = brahmsWith(50);
    const before = [...b.view];
    for (const x of ids.slice(0, b.pushLimit + 1)) b.receivePush(x);
    b.receivePull(ids.slice(20, 30));
    const r = b.endRound();
    expect(r).toMatchObject({ updated: false, reason: 'push-flood' });
    expect(b.view).toEqual(before);
  });

  it('a repeated pusher counts once', () => {
    const { b, ids } = brahmsWith(50);
    for (let i = 0; i < 100; i++) b.receivePush(ids[0]!);
    b.receivePull(ids.slice(20, 30));
    expect(b.endRound().updated).toBe(true);
  });

  it('without pulls or pushes the view is kept', () => {
    const { b, ids } = brahmsWith(50);
    b.receivePush(ids[0]!);
    expect(b.endRound().reason).toBe('no-pull');
    b.receivePull([ids[3]!]);
    expect(b.endRound().reason).toBe('no-push');
  });

  it('remove() takes a dead peer out of view and samplers', () => {
    const { b, peers } = brahmsWith(30);
    const dead = b.samplers.samples()[0]!;
    peers.markDead(dead, 0);
    b.remove(dead);
    expect(b.view).not.toContain(dead);
    expect(b.samplers.samples()).not.toContain(dead);
  });

  it('consume() makes successive answers independent and uniform', () => {
    const { b, ids } = brahmsWith(12);
    const counts = new Map<string, number>(ids.map((x) => [x, 0]));
    for (let i = 0; i < 2400; i++) {
      const c = b.candidates();
      const s = pick(c, 1)[0]!;
      counts.set(s.sample!, counts.get(s.sample!)! + 1);
      b.consume(s);
    }
    // 11 degrees of freedom: 31.3 is the p = 0.001 critical value.
    expect(chiSquare([...counts.values()])).toBeLessThan(31.3);
  });

  it('candidates(aliveSince) only offers recently probed samples', () => {
    const { b, ids, peers } = brahmsWith(10);
    expect(b.candidates(1)).toHaveLength(0);
    peers.markAlive(ids[0]!, 5);
    expect(b.candidates(1).every((s) => s.sample === ids[0])).toBe(true);
  });

  it('resize grows samplers with samples from history', () => {
    const { b } = brahmsWith(30);
    b.resize(5, 64);
    expect(b.samplers.size).toBe(64);
    expect(b.view.length).toBeLessThanOrEqual(5);
    expect(b.samplers.samplers.every((s) => s.sample !== null)).toBe(true);
  });
});
