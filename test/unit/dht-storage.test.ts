// Value store (expiry, per-peer quota, caps, our own values kept) and its on-disk form (round
// trip, atomic rewrite, hostile or damaged files).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../relay/log.ts';
import { decodeValues, encodeValues, StoreFile } from '../../relay/dht/persist.ts';
import { ENTRY_OVERHEAD, type StoredValue, ValueStore } from '../../relay/dht/storage.ts';

const key = () => new Uint8Array(randomBytes(32));
const peer = 'ab'.repeat(32);
const log = createLogger('test', 'silent');
const sv = (o: Partial<StoredValue> = {}): StoredValue => ({
  key: key(),
  value: Uint8Array.of(1, 2, 3),
  expiresAt: 10_000,
  from: peer,
  replication: 0,
  published: false,
  lastPushed: 0,
  ...o,
});

describe('value store', () => {
  it('returns values until they expire, then forgets them', () => {
    let t = 0;
    const s = new ValueStore({ perPeerBytes: 1e6, totalBytes: 1e6, maxEntries: 10 }, () => t);
    const v = sv();
    expect(s.put(v)).toBe('stored');
    expect(s.get(v.key)?.value).toEqual(v.value);
    t = 10_000;
    expect(s.get(v.key)).toBeUndefined();
    expect(s.size).toBe(0);
    expect(s.bytes).toBe(0);
  });

  it('enforces the per-peer quota, the total cap and the entry cap', () => {
    const s = new ValueStore({ perPeerBytes: 100 + ENTRY_OVERHEAD, totalBytes: 170, maxEntries: 3 }, () => 0);
    expect(s.put(sv({ value: new Uint8Array(60) }))).toBe('stored'); // 92 bytes with key
    expect(s.put(sv({ value: new Uint8Array(60) }))).toBe('quota');
    expect(s.put(sv({ from: 'cd'.repeat(32), value: new Uint8Array(60) }))).toBe('full');
    expect(s.put(sv({ from: 'cd'.repeat(32), value: new Uint8Array(10) }))).toBe('stored');
    expect(s.put(sv({ from: '', value: new Uint8Array(1) }))).toBe('stored');
    expect(s.put(sv({ from: '', value: new Uint8Array(1) }))).toBe('full'); // 4th entry
    expect(s.bytesFrom(peer)).toBe(92 + ENTRY_OVERHEAD);
  });

  it('charges a per-entry overhead, so tiny values cannot give one peer endless entries', () => {
    const quota = 1024 * 1024;
    const s = new ValueStore({ perPeerBytes: quota, totalBytes: 1e9, maxEntries: 1e6 }, () => 0);
    let n = 0;
    while (s.put(sv({ value: Uint8Array.of(1) })) === 'stored') n++;
    expect(n).toBe(Math.floor(quota / (33 + ENTRY_OVERHEAD))); // was quota / 33 = 31775
    expect(s.bytesFrom(peer)).toBe(n * (33 + ENTRY_OVERHEAD));
    s.put(sv({ from: '', key: key(), value: Uint8Array.of(1) })); // our own: no quota
    expect(s.bytesFrom('')).toBe(0);
  });

  it('replacing a value re-accounts its bytes; replicas never replace our own value', () => {
    const s = new ValueStore(
      { perPeerBytes: 100 + ENTRY_OVERHEAD, totalBytes: 1e6, maxEntries: 10 },
      () => 0,
    );
    const k = key();
    expect(s.put(sv({ key: k, value: new Uint8Array(60) }))).toBe('stored');
    expect(s.put(sv({ key: k, value: new Uint8Array(60) }))).toBe('stored');
    expect(s.bytesFrom(peer)).toBe(92 + ENTRY_OVERHEAD);
    const own = key();
    s.put(sv({ key: own, from: '', published: true, value: Uint8Array.of(9) }));
    s.put(sv({ key: own, value: Uint8Array.of(6) }));
    expect([...s.get(own)!.value]).toEqual([9]);
  });
});

describe('store file', () => {
  it('round-trips records', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
            value: fc.uint8Array({ minLength: 1, maxLength: 300 }),
            expiresAt: fc.integer({ min: 0, max: 2 ** 48 }),
            published: fc.boolean(),
            replication: fc.integer({ min: 0, max: 255 }),
            from: fc.constantFrom('', peer),
          }),
          { maxLength: 10 },
        ),
        (recs) => {
          const values = recs.map((r) => ({ ...r, lastPushed: 0 }));
          expect(decodeValues(encodeValues(values))).toEqual(values);
        },
      ),
    );
  });

  it('never throws on damaged data past the magic, and rejects a foreign file', () => {
    const good = encodeValues([sv(), sv()]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), (junk, cut) => {
        const damaged = new Uint8Array([...good.subarray(0, 8 + (cut % (good.length - 8))), ...junk]);
        expect(() => decodeValues(damaged)).not.toThrow();
      }),
    );
    expect(() => decodeValues(new TextEncoder().encode('hello world'))).toThrow();
  });

  it('writes atomically and reloads; a corrupt file starts empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dht-store-'));
    const values = [sv(), sv({ from: '', published: true, replication: 20 })];
    const f = new StoreFile(dir, () => values, log);
    await f.flush();
    expect(readdirSync(dir)).toEqual(['values.bin']); // no temp file left behind
    const g = new StoreFile(dir, () => [], log);
    expect(await g.load()).toEqual(values);
    writeFileSync(f.path, 'garbage');
    expect(await g.load()).toEqual([]);
    expect(readFileSync(f.path, 'utf8')).toBe('garbage');
  });

  it('spaces rewrites by the store size; flush (shutdown) still writes at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dht-store-'));
    const values = Array.from({ length: 10 }, () => sv({ value: new Uint8Array(100) })); // ~1.8 kB
    const writes: number[] = [];
    let wrote: () => void = () => {};
    const snapshot = () => {
      writes.push(Date.now());
      wrote();
      return values;
    };
    const nextWrite = () =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no write within 5 s')), 5000);
        wrote = () => {
          clearTimeout(t);
          resolve();
        };
      });
    // Debounce 10 ms, at most 2000 bytes/s: ~0.9 s between writes of this store.
    const f = new StoreFile(dir, snapshot, log, 10, 2000);
    let w = nextWrite();
    f.changed();
    await w;
    await f.flush(); // on disk (and a second, immediate write: flush is never delayed)
    expect(writes).toHaveLength(2);
    const flushedAt = Date.now();
    w = nextWrite();
    f.changed();
    await w;
    expect(writes[2]! - flushedAt).toBeGreaterThanOrEqual(700); // the old code wrote after 10 ms
  });
});
