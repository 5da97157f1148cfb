// Persistence: known peers (their signed records), samplers and view, as JSON written to a temp
// file and renamed over the store (atomic: a crash leaves the old or the new file, never half).
// Loading re-verifies every record: the file is input like any other.
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Brahms } from './brahms.ts';
import type { PeerTable } from './peers.ts';
import { type VerifyOptions, verifyRecord } from './record.ts';
import { Sampler } from './sampler.ts';

const STORE_VERSION = 1;
const MAX_STORE_BYTES = 32 * 1024 * 1024;

interface StoreFile {
  version: number;
  identity: string;
  savedAt: number;
  peers: { record: string; lastAlive: number }[];
  samplers: { key: string; sample: string | null }[];
  view: string[];
}

export function snapshot(selfId: string, peers: PeerTable, brahms: Brahms, now: number): StoreFile {
  return {
    version: STORE_VERSION,
    identity: selfId,
    savedAt: now,
    peers: [...peers.all()].map((e) => ({
      record: Buffer.from(e.record.bytes).toString('base64'),
      lastAlive: e.lastAlive,
    })),
    samplers: brahms.samplers.samplers.map((s) => ({
      key: Buffer.from(s.key).toString('hex'),
      sample: s.sample,
    })),
    view: [...brahms.view],
  };
}

/**
 * Atomic replace. `durable` adds an fsync before the rename (used for the final save at stop;
 * periodic saves skip it because fsync can take seconds on a busy disk).
 */
export async function saveStore(path: string, data: StoreFile, durable = false): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(data));
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export interface LoadResult {
  peers: number;
  rejected: number;
  samplers: number;
}

const HEX_ID = /^[0-9a-f]{64}$/;

/** Fill peers, samplers and view from the store; a missing store is an empty start. */
export async function loadStore(
  path: string,
  selfId: string,
  peers: PeerTable,
  brahms: Brahms,
  verify: VerifyOptions,
  now: number,
): Promise<LoadResult> {
  const result: LoadResult = { peers: 0, rejected: 0, samplers: 0 };
  let text: string;
  try {
    if ((await stat(path)).size > MAX_STORE_BYTES)
      throw new Error(`store ${path} is larger than ${MAX_STORE_BYTES}`);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return result;
    throw e;
  }
  const data = JSON.parse(text) as Partial<StoreFile>;
  if (data.version !== STORE_VERSION) throw new Error(`store ${path}: unknown version ${data.version}`);
  if (data.identity !== selfId) throw new Error(`store ${path} belongs to identity ${data.identity}`);
  for (const p of Array.isArray(data.peers) ? data.peers : []) {
    try {
      const rec = verifyRecord(new Uint8Array(Buffer.from(String(p.record), 'base64')), verify);
      // A probe time from the future (clock change, tampering) counts as never probed.
      const lastAlive = Number.isFinite(p.lastAlive) && p.lastAlive <= now ? p.lastAlive : 0;
      if (peers.add(rec, now, lastAlive) === 'new') result.peers++;
    } catch {
      result.rejected++;
    }
  }
  restoreSamplers(data, peers, brahms);
  result.samplers = brahms.samplers.samplers.filter((s) => s.sample !== null).length;
  if (Array.isArray(data.view))
    brahms.view = data.view.filter((id) => typeof id === 'string' && peers.has(id));
  brahms.topUp();
  return result;
}

function restoreSamplers(data: Partial<StoreFile>, peers: PeerTable, brahms: Brahms): void {
  const saved = Array.isArray(data.samplers) ? data.samplers : [];
  const list = brahms.samplers.samplers;
  for (let i = 0; i < list.length && i < saved.length; i++) {
    const s = saved[i]!;
    if (typeof s.key !== 'string' || !HEX_ID.test(s.key)) continue;
    const sample = typeof s.sample === 'string' && peers.has(s.sample) ? s.sample : null;
    list[i] = Sampler.restore(new Uint8Array(Buffer.from(s.key, 'hex')), sample);
  }
  // Replay the history: a restored sampler keeps its minimum, an empty one finds one.
  for (const id of peers.ids()) brahms.samplers.feed(id);
}
