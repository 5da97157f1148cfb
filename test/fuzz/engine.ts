// The fuzz engine: seeded mutations of valid encodings (bit flips, byte edits, truncation,
// extension, length-field edits, splices, inserted/deleted runs) plus purely random inputs, fed to
// one target at a time; counts crashes (a throw other than the documented error type), hangs
// (an input taking > 50 ms) and the heap before/after (after a GC when --expose-gc).
import { performance } from 'node:perf_hooks';
import { mulberry32 } from '../prng.ts';
import type { Target } from './targets.ts';

export const HANG_MS = 50;
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff];
const INTERESTING16 = [0, 1, 0x7fff, 0x8000, 0xffff];

export interface Crash {
  input: string;
  error: string;
}

export interface TargetReport {
  name: string;
  inputs: number;
  rejected: number;
  crashes: number;
  firstCrashes: Crash[];
  hangs: number;
  /** Inputs slow once but fast when timed again (scheduling, GC): not hangs. */
  stalls: number;
  /** The slowest input (after re-timing the slow ones). */
  slowestMs: number;
  ms: number;
  heapBeforeMB: number;
  heapAfterMB: number;
}

type Rng = () => number;
const int = (rng: Rng, n: number) => Math.floor(rng() * n);

/** One mutation of `x` (may return a new array). */
function mutateOnce(x: Uint8Array, rng: Rng, seeds: Uint8Array[]): Uint8Array {
  const n = x.length;
  switch (int(rng, 9)) {
    case 0: {
      const y = new Uint8Array(x); // a copy (Buffer#slice would be a view of the seed)
      for (let k = 1 + int(rng, 4); k > 0 && n > 0; k--) y[int(rng, n)]! ^= 1 << int(rng, 8);
      return y;
    }
    case 1: {
      if (n === 0) return x;
      const y = new Uint8Array(x); // a copy (Buffer#slice would be a view of the seed)
      y[int(rng, n)] = rng() < 0.5 ? INTERESTING[int(rng, INTERESTING.length)]! : int(rng, 256);
      return y;
    }
    case 2:
      return x.slice(0, int(rng, n + 1));
    case 3: {
      const extra = Uint8Array.from({ length: 1 + int(rng, 64) }, () => int(rng, 256));
      return Buffer.concat([x, extra]);
    }
    case 4: {
      // A length field: any u16 (or u8) position set to an edge value or to the real length +- a bit.
      if (n < 2) return x;
      const y = new Uint8Array(x); // a copy (Buffer#slice would be a view of the seed)
      const at = int(rng, n - 1);
      const v =
        rng() < 0.5 ? INTERESTING16[int(rng, INTERESTING16.length)]! : Math.max(0, n - at + int(rng, 9) - 4);
      if (rng() < 0.3) y[at] = v & 0xff;
      else {
        y[at] = (v >> 8) & 0xff;
        y[at + 1] = v & 0xff;
      }
      return y;
    }
    case 5: {
      const other = seeds[int(rng, seeds.length)]!;
      return Buffer.concat([x.subarray(0, int(rng, n + 1)), other.subarray(int(rng, other.length + 1))]);
    }
    case 6: {
      const at = int(rng, n + 1);
      const run = Uint8Array.from({ length: 1 + int(rng, 16) }, () => int(rng, 256));
      return Buffer.concat([x.subarray(0, at), run, x.subarray(at)]);
    }
    case 7: {
      const at = int(rng, n + 1);
      return Buffer.concat([x.subarray(0, at), x.subarray(at + 1 + int(rng, 16))]);
    }
    default: {
      // Repeat a slice (long, repetitive inputs).
      const at = int(rng, n + 1);
      const part = x.subarray(at, at + 1 + int(rng, 64));
      return Buffer.concat([
        x.subarray(0, at),
        ...Array.from({ length: 1 + int(rng, 8) }, () => part),
        x.subarray(at),
      ]);
    }
  }
}

/** Input i of a run: 1 in 10 purely random, else 1-4 stacked mutations of a seed. */
export function makeInput(rng: Rng, seeds: Uint8Array[]): Uint8Array {
  if (seeds.length === 0 || rng() < 0.1)
    return Uint8Array.from({ length: int(rng, 600) }, () => int(rng, 256));
  let x = seeds[int(rng, seeds.length)]!;
  for (let k = 1 + int(rng, 4); k > 0; k--) x = mutateOnce(x, rng, seeds);
  return x;
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapMB = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

async function timeOnce(t: Target, x: Uint8Array): Promise<number> {
  const t0 = performance.now();
  try {
    const r = t.run(x);
    if (r instanceof Promise) await r;
  } catch {}
  return performance.now() - t0;
}

export async function fuzzTarget(t: Target, inputs: number, seed: number): Promise<TargetReport> {
  // A seed per target (from its name), so --only reproduces the same inputs as a full run.
  let h = seed >>> 0;
  for (const c of t.name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  const rng = mulberry32(h);
  // Plain copies: seeds built with Buffer.concat are Buffers, whose slice() shares memory.
  t = { ...t, seeds: t.seeds.map((s) => new Uint8Array(s)) };
  const report: TargetReport = {
    name: t.name,
    inputs: 0,
    rejected: 0,
    crashes: 0,
    firstCrashes: [],
    hangs: 0,
    stalls: 0,
    slowestMs: 0,
    ms: 0,
    heapBeforeMB: heapMB(),
    heapAfterMB: 0,
  };
  const started = performance.now();
  // Inputs the decoders never see unchanged are the seeds themselves: check those first.
  const all = (i: number) => (i < t.seeds.length ? t.seeds[i]! : makeInput(rng, t.seeds));
  for (let i = 0; i < inputs; i++) {
    const x = all(i);
    const t0 = performance.now();
    try {
      const r = t.run(x);
      if (r instanceof Promise) await r;
    } catch (e) {
      if (t.expected(e)) report.rejected++;
      else {
        report.crashes++;
        if (report.firstCrashes.length < 5)
          report.firstCrashes.push({
            input: Buffer.from(x).toString('hex'),
            error: String((e as Error)?.stack ?? e),
          });
      }
    }
    let dt = performance.now() - t0;
    // On a loaded machine a GC pause or a lost time slice can take 50 ms: a hang is an input that
    // is slow again when timed twice more (decoders are deterministic); the rest count as stalls.
    if (dt > HANG_MS) {
      dt = Math.min(dt, await timeOnce(t, x), await timeOnce(t, x));
      if (dt > HANG_MS) {
        report.hangs++;
        if (report.firstCrashes.length < 5)
          report.firstCrashes.push({
            input: Buffer.from(x).toString('hex'),
            error: `hang: ${dt.toFixed(1)} ms (input ${i})`,
          });
      } else report.stalls++;
    }
    if (dt > report.slowestMs) report.slowestMs = dt;
    report.inputs++;
    // Let timers and I/O run now and then (async targets, and a responsive process).
    if ((i & 0xfff) === 0xfff) await new Promise((r) => setImmediate(r));
  }
  report.ms = performance.now() - started;
  report.heapAfterMB = heapMB();
  return report;
}
