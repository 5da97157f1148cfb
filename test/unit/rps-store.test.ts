// Store: atomic save, reload with re-verification, hostile files.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { Brahms } from '../../relay/rps/brahms.ts';
import { PeerTable } from '../../relay/rps/peers.ts';
import { signRecord } from '../../relay/rps/record.ts';
import { loadStore, saveStore, snapshot } from '../../relay/rps/store.ts';
import { toHex } from '../../shared/identity.ts';
import { getKeys } from '../keypool.ts';

const verify = { minKeyBits: 4096 };
let keys: Hostkey[];
let selfId: string;

beforeAll(async () => {
  keys = await Promise.all((await getKeys(6)).map((p) => loadHostkey(p)));
  selfId = toHex(keys[0]!.identity);
});

function fresh() {
  const peers = new PeerTable(selfId, 100, 60_000);
  const brahms = new Brahms(peers, 4, 8, { alpha: 0.45, beta: 0.45 });
  return { peers, brahms };
}

function filled() {
  const s = fresh();
  for (const k of keys.slice(1)) {
    const rec = signRecord({ address: '127.0.0.1', portmap: [{ module: 540, port: 9 }], time: 1000 }, k);
    s.peers.add(rec, 0, 42);
    s.brahms.learn(rec.id);
  }
  s.brahms.topUp();
  return s;
}

describe('rps store', () => {
  it('saves atomically and restores peers, samplers and view', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rps-store-'));
    const path = join(dir, 'rps.json');
    const a = filled();
    await saveStore(path, snapshot(selfId, a.peers, a.brahms, 100), true);
    expect(readdirSync(dir)).toEqual(['rps.json']); // no temp file left behind
    const b = fresh();
    const r = await loadStore(path, selfId, b.peers, b.brahms, verify, 100);
    expect(r).toMatchObject({ peers: 5, rejected: 0, samplers: 8 });
    expect(b.brahms.samplers.samplers.map((s) => s.sample)).toEqual(
      a.brahms.samplers.samplers.map((s) => s.sample),
    );
    expect(b.brahms.view.sort()).toEqual([...a.brahms.view].sort());
    expect(b.peers.get(b.brahms.view[0]!)!.lastAlive).toBe(42);
  });

  it('a missing store is an empty start', async () => {
    const b = fresh();
    const r = await loadStore(
      join(tmpdir(), 'does-not-exist-rps.json'),
      selfId,
      b.peers,
      b.brahms,
      verify,
      0,
    );
    expect(r.peers).toBe(0);
  });

  it('re-verifies records: a tampered one is dropped, the rest load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rps-store-'));
    const path = join(dir, 'rps.json');
    const a = filled();
    await saveStore(path, snapshot(selfId, a.peers, a.brahms, 100));
    const data = JSON.parse(readFileSync(path, 'utf8'));
    const bytes = Buffer.from(data.peers[0].record, 'base64');
    bytes[20]! ^= 0xff;
    data.peers[0].record = bytes.toString('base64');
    data.peers[1].lastAlive = 1e15; // from the future: treated as never probed
    data.samplers[0].key = 'zz';
    writeFileSync(path, JSON.stringify(data));
    const b = fresh();
    const r = await loadStore(path, selfId, b.peers, b.brahms, verify, 100);
    expect(r).toMatchObject({ peers: 4, rejected: 1 });
    expect([...b.peers.all()].every((e) => e.lastAlive <= 100)).toBe(true);
  });

  it('refuses a store of another identity or of garbage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rps-store-'));
    const path = join(dir, 'rps.json');
    const a = filled();
    await saveStore(path, snapshot(toHex(keys[1]!.identity), a.peers, a.brahms, 100));
    await expect(loadStore(path, selfId, fresh().peers, fresh().brahms, verify, 0)).rejects.toThrow(
      /belongs to/,
    );
    writeFileSync(path, '{not json');
    await expect(loadStore(path, selfId, fresh().peers, fresh().brahms, verify, 0)).rejects.toThrow();
  });
});
