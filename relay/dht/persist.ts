// On-disk form of the value store, so stored data survives a restart. One file, rewritten whole
// (temp file + fsync + rename, so a crash leaves either the old or the new file, never half of one),
// debounced (1 s) so a burst of STOREs costs one write, and spaced by at least 1 s per MiB of the last
// write, so a peer's steady trickle of STOREs cannot make us rewrite a big store every second. The loader treats the file as hostile input:
// every length is bounds-checked and a damaged tail is dropped, never thrown at the caller.
//
// Layout: magic "VPDHTv1\n" (8) then records:
//   flags u8 (bit0 published) | key (32) | expiresAt u64 ms | replication u8 | from (32, zeros = ours)
//   | value length u32 | value
import { mkdirSync } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex, toHex } from '../../shared/identity.ts';
import type { Logger } from '../log.ts';
import type { StoredValue } from './storage.ts';

const MAGIC = new TextEncoder().encode('VPDHTv1\n');
const FIXED = 1 + 32 + 8 + 1 + 32 + 4;
const MAX_VALUE = 65535;
const ZERO_ID = new Uint8Array(32);
/** Rewrites average at most this many bytes per second (a 64 MiB store: one write per ~64 s). */
const WRITE_BYTES_PER_SEC = 1024 * 1024;

export function encodeValues(values: StoredValue[]): Uint8Array {
  const size = MAGIC.length + values.reduce((n, v) => n + FIXED + v.value.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  let at = MAGIC.length;
  for (const v of values) {
    out[at] = v.published ? 1 : 0;
    out.set(v.key, at + 1);
    dv.setBigUint64(at + 33, BigInt(Math.max(0, Math.floor(v.expiresAt))));
    out[at + 41] = Math.min(255, v.replication);
    out.set(v.from === '' ? ZERO_ID : fromHex(v.from), at + 42);
    dv.setUint32(at + 74, v.value.length);
    out.set(v.value, at + FIXED);
    at += FIXED + v.value.length;
  }
  return out;
}

/** Records up to the first damaged one; throws only if the magic is wrong. */
export function decodeValues(buf: Uint8Array): StoredValue[] {
  if (buf.length < MAGIC.length || !MAGIC.every((b, i) => buf[i] === b))
    throw new Error('not a DHT store file');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: StoredValue[] = [];
  let at = MAGIC.length;
  while (at + FIXED <= buf.length) {
    const len = dv.getUint32(at + 74);
    if (len === 0 || len > MAX_VALUE || at + FIXED + len > buf.length) break;
    const from = buf.slice(at + 42, at + 74);
    out.push({
      published: (buf[at]! & 1) === 1,
      key: buf.slice(at + 1, at + 33),
      expiresAt: Number(dv.getBigUint64(at + 33)),
      replication: buf[at + 41]!,
      from: from.every((b) => b === 0) ? '' : toHex(from),
      value: buf.slice(at + FIXED, at + FIXED + len),
      lastPushed: 0,
    });
    at += FIXED + len;
  }
  return out;
}

/** Writes snapshots of the store to `<dir>/values.bin`, at most one write in flight. */
export class StoreFile {
  readonly path: string;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** End and size of the last write: the next one waits in proportion to the size. */
  private lastWriteAt = 0;
  private lastWriteBytes = 0;

  constructor(
    dir: string,
    private readonly snapshot: () => StoredValue[],
    private readonly log: Logger,
    private readonly debounceMs = 1000,
    private readonly bytesPerSec = WRITE_BYTES_PER_SEC,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'values.bin');
  }

  async load(): Promise<StoredValue[]> {
    let buf: Uint8Array;
    try {
      buf = new Uint8Array(await readFile(this.path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn(`store ${this.path}: ${(e as Error).message}`);
      return [];
    }
    try {
      return decodeValues(buf);
    } catch (e) {
      this.log.warn(`store ${this.path}: ${(e as Error).message}; starting empty`);
      return [];
    }
  }

  /** Schedule a write of the current state: after debounceMs, and no sooner than the last write's
   * size allows (flush() still writes at once, e.g. on shutdown). */
  changed(): void {
    if (this.timer) return;
    const gap = (this.lastWriteBytes / this.bytesPerSec) * 1000;
    const wait = Math.max(this.debounceMs, this.lastWriteAt + gap - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, wait);
  }

  /** Write now (after any write in flight); resolves when on disk. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writing
      .then(() => this.write())
      .catch((e) => this.log.error(`store write: ${(e as Error).message}`));
    return this.writing;
  }

  private async write(): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    const data = encodeValues(this.snapshot());
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    this.lastWriteAt = Date.now();
    this.lastWriteBytes = data.length;
  }
}
