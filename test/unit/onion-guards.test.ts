// Entry guards persist across restarts (atomic JSON file), are left only while down and replaced
// once down for long; path bias avoids a hop that fails EXTENDs far more than the others.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createLogger } from '../../relay/log.ts';
import { Guards, PathBias } from '../../relay/onion/guards.ts';
import type { HopPeer } from '../../relay/onion/origin.ts';

const log = createLogger('test', 'error');
const peers: HopPeer[] = Array.from({ length: 10 }, (_, i) => ({
  host: '127.0.0.1',
  port: 1000 + i,
  der: new Uint8Array([i, 1, 2]),
  identity: new Uint8Array(32).fill(i + 1),
  idHex: Buffer.alloc(32, i + 1).toString('hex'),
}));
const draw = async (ex: Set<string>) => {
  const left = peers.filter((p) => !ex.has(p.idHex));
  return left[Math.floor(Math.random() * left.length)];
};
const opts = (file: string, downMs = 3_600_000) => ({
  file,
  count: 2,
  lifetimeMs: 86_400_000,
  downMs,
  retryMs: 3_600_000,
  log,
});

it('keeps the same guard across restarts and moves only while it is down', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onion-guards-'));
  const file = join(dir, 'guards.json');
  const g1 = new Guards(opts(file));
  const first = (await g1.pick(draw, new Set()))!;
  for (let i = 0; i < 50; i++) expect((await g1.pick(draw, new Set()))!.idHex).toBe(first.idHex);
  const g2 = new Guards(opts(file)); // a restart
  const again = (await g2.pick(draw, new Set()))!;
  expect(again.idHex).toBe(first.idHex);
  expect(Buffer.from(again.der)).toEqual(Buffer.from(first.der));
  g2.markDown(first.idHex);
  const second = (await g2.pick(draw, new Set()))!;
  expect(second.idHex).not.toBe(first.idHex);
  expect(g2.ids()).toContain(first.idHex); // not replaced yet: it may come back
  // The destination is never its own first hop: the next guard is taken.
  expect((await g2.pick(draw, new Set([second.idHex])))!.idHex).not.toBe(second.idHex);
  expect(readdirSync(dir)).toEqual(['guards.json']); // no temp file left behind
  expect(JSON.parse(readFileSync(file, 'utf8')).guards.length).toBeGreaterThanOrEqual(2);
});

it('replaces a guard that stays down, and ignores a corrupt state file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onion-guards-'));
  const file = join(dir, 'guards.json');
  const g = new Guards(opts(file, 1));
  const first = (await g.pick(draw, new Set()))!;
  g.markDown(first.idHex);
  await new Promise((r) => setTimeout(r, 5));
  await g.pick(draw, new Set());
  expect(g.ids()).not.toContain(first.idHex);
  expect(g.ids().length).toBe(2);
  writeFileSync(file, '{"guards": [{"idHex": "zz"}, 42]');
  const h = new Guards(opts(file));
  expect(h.ids()).toEqual([]);
  expect(await h.pick(draw, new Set())).toBeDefined();
});

it('path bias avoids a hop failing far more EXTENDs than the others, not one failing like them', () => {
  const avoided: string[] = [];
  let now = 0;
  const b = new PathBias(
    log,
    (id) => avoided.push(id),
    () => now,
  );
  for (let i = 0; i < 100; i++) b.record('other', i % 10 !== 0); // 10 % failures: a normal network
  for (let i = 0; i < 20; i++) b.record('unlucky', i % 8 !== 0);
  // A hop whose first EXTENDs went to relays that had just died (churn): not judged on so few.
  for (let i = 0; i < 5; i++) b.record('churned', false);
  expect(b.avoided('churned')).toBe(false);
  for (let i = 0; i < 9; i++) b.record('bad', false);
  expect(b.avoided('bad')).toBe(false); // too few attempts to judge
  b.record('bad', false);
  expect(b.avoided('bad')).toBe(true);
  expect(b.avoided('unlucky')).toBe(false);
  expect(avoided).toEqual(['bad']);
  // Forgiven after a while (an honest hop judged in a bad minute is not lost for good) ...
  now += 15 * 60_000;
  expect(b.avoided('bad')).toBe(false);
  // ... and caught again if it goes on failing.
  for (let i = 0; i < 10; i++) b.record('bad', false);
  expect(b.avoided('bad')).toBe(true);
});

it('draws another guard when the up ones cannot share the path, and tries a down one rather than none', async () => {
  const g = new Guards({ ...opts(undefined as unknown as string), file: undefined, count: 1 });
  const a = (await g.pick(draw, new Set()))!;
  expect(g.ids()).toEqual([a.idHex]);
  // A path whose destination shares a's family: a sits out, and another fitting guard is drawn
  // (the old code counted a as usable, drew nothing and left the build with no first hop).
  const notA = (p: HopPeer) => p.idHex !== a.idHex;
  const b = await g.pick(draw, new Set(), notA);
  expect(b).toBeDefined();
  expect(b!.idHex).not.toBe(a.idHex);
  // Every guard down and nothing left to draw: the one that failed longest ago is tried at once.
  const none = async () => undefined;
  const h = new Guards({ ...opts(undefined as unknown as string), file: undefined });
  await h.pick(draw, new Set());
  const [x, y] = h.ids();
  h.markDown(x!);
  await new Promise((r) => setTimeout(r, 5));
  h.markDown(y!);
  expect((await h.pick(none, new Set()))?.idHex).toBe(x);
});
